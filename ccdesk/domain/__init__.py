"""Pure domain rules: no database, no UI."""
