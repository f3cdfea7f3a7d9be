"""The reference district (upstream) server: FastAPI + uvicorn over SQLite or PostgreSQL.

``models`` (its own SQLModel registry, never the desk's tables), ``migrate`` (its own Alembic
scripts), ``store`` (the rules: enrolment, idempotent batch apply, changes, bundles, stats),
``app`` (the HTTP API). Imported only by ``ccdesk district`` and the tests, never by the desk.
"""
