"""The reference district (upstream) server, the province's relay: FastAPI + uvicorn over SQLite
or PostgreSQL.

``models`` (its own SQLModel registry, never the desk's tables), ``migrate`` (its own Alembic
scripts), ``store`` (the rules: enrolment, idempotent batch apply, changes, stats, health),
``bundles`` (importing USB bundles), ``app`` (the ASGI application), ``routes`` (one store call
per route), ``auth`` and ``body`` (who is asking, and bodies under limits), ``logs`` (redacted
console logging). Imported only by ``ccdesk district`` and the tests, never by the desk.
Security notes: docs/relay-security.md.
"""
