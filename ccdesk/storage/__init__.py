"""Storage: the SQLite engine, migrations and the write helpers."""
