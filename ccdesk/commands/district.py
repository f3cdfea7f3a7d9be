"""``ccdesk district …``: the reference district (upstream) server and its admin commands.

``--db`` takes a SQLAlchemy URL: SQLite in the data dir by default, or
``postgresql+psycopg://user@host/db`` for a province with hundreds of communes. A URL with a
password belongs in ``CCDESK_DISTRICT_DB`` or a file (``--db-file``), never on the command line
(``ps`` shows it to every user); libpq's ``PGPASSWORD`` and ``~/.pgpass`` work too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ccdesk.commands.common import STATE, fail, print_json, requires_extra
from ccdesk.commands.double import double as _double
from ccdesk.commands.secrets import from_environment, read_secret_file, warn_on_command_line
from ccdesk.i18n import t

if TYPE_CHECKING:
    from sync.server.body import Limits
    from sync.server.store import DistrictStore

app = typer.Typer(help="Máy chủ cấp trên mẫu / the reference district server.",
                  no_args_is_help=True)
# The upstream conformance double (docs/upstream-double.md).
app.command("double")(_double)

DB_ENV = "CCDESK_DISTRICT_DB"
DbOpt = Annotated[str | None, typer.Option("--db", help="sqlite:///… or postgresql+psycopg://…",
                                           envvar=DB_ENV)]
DbFileOpt = Annotated[Path | None, typer.Option(
    "--db-file", help="a file holding the --db URL (keeps its password out of ps)")]


def _url(db: str | None, db_file: Path | None = None) -> str:
    from sync.server.store import default_url

    if db_file is not None:
        db = read_secret_file(db_file)
    elif db is not None and not from_environment(db, DB_ENV) and _has_password(db):
        warn_on_command_line("--db", f"--db-file or {DB_ENV}")
    if db is None:
        return default_url(STATE.paths.data_dir)
    if "://" not in db:   # a plain path means a SQLite file
        return f"sqlite:///{Path(db).expanduser().resolve()}"
    return db


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return bool(make_url(url).password)
    except Exception:  # noqa: BLE001 - not a URL: no password in it
        return False


def _store(db: str | None, db_file: Path | None = None,
           **options: object):  # noqa: ANN202 - DistrictStore
    from sync.server.store import DistrictStore

    url = _url(db, db_file)
    if not url.startswith("sqlite"):
        # The scans desks send live in the data dir (beside the SQLite file otherwise):
        # docs/sync.md, "Files".
        options.setdefault("files_dir", STATE.paths.data_dir / "district-files")
    try:
        with requires_extra("server"):  # a PostgreSQL URL needs psycopg
            return DistrictStore.open(url, **options)
    except Exception as exc:  # noqa: BLE001 - unreachable database: say which, no traceback
        from ccdesk.logs import redact

        fail(f"--db {_safe(url)}: {type(exc).__name__}: "
             f"{redact(str(exc).splitlines()[0] if str(exc) else '')}")


def _safe(url: str) -> str:
    """The URL without a password (it may land in a terminal scrollback or a log)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<url>"


@app.command()
def serve(host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port")] = 8700,
          db: DbOpt = None,
          db_file: DbFileOpt = None,
          accept_demo: Annotated[bool, typer.Option("--accept-demo",
                                                    help="accept demo databases")] = False,
          preferred_batch_bytes: Annotated[int | None, typer.Option(
              "--preferred-batch-bytes")] = None,
          max_batch_bytes: Annotated[int | None, typer.Option("--max-batch-bytes")] = None,
          docs: Annotated[bool, typer.Option("--docs", help="serve /docs and /openapi.json")
                          ] = False,
          body_timeout: Annotated[float, typer.Option(
              "--body-timeout", help="seconds a request body may stall before a 408", min=0.1)
          ] = 60.0,
          workers: Annotated[int, typer.Option(
              "--workers", min=1, max=64,
              help="worker processes (docs/operations.md, \"Worker processes\")")] = 1,
          ) -> None:
    """Chạy máy chủ / run the server (FastAPI + uvicorn)."""
    with requires_extra("server"):
        import uvicorn

        from sync.server.app import create_app
        from sync.server.body import Limits
        from sync.server.logs import uvicorn_log_config

    options: dict[str, object] = {"accept_demo": accept_demo}
    if preferred_batch_bytes:
        options["preferred_batch_bytes"] = preferred_batch_bytes
    if max_batch_bytes:
        options["max_batch_bytes"] = max_batch_bytes
    store = _store(db, db_file, **options)
    typer.echo(t("sync.district.serving", host=host, port=port,
                 db=_safe(str(store.engine.url))))
    if docs:
        typer.echo(t("sync.relay.docs", host=host, port=port))
    limits = Limits(max_batch_bytes=store.max_batch_bytes, idle_timeout_s=body_timeout)
    # Every reply to a desk pays for the server and date headers on 2G; neither is used
    # (docs/sync.md).
    run = {"host": host, "port": port, "log_config": uvicorn_log_config(),
           "log_level": "warning", "access_log": False, "server_header": False,
           "date_header": False}
    if workers == 1:
        uvicorn.run(create_app(store, docs=docs, limits=limits), **run)
        return
    _serve_workers(store, options, workers, docs, limits, run)


def _serve_workers(store: DistrictStore, options: dict[str, object], workers: int,
                   docs: bool, limits: Limits, run: dict[str, Any]) -> None:
    """N uvicorn worker processes over one socket. This process has migrated the database and
    made its epoch and key; each worker opens the same database (sync/server/worker.py)."""
    import os

    import uvicorn

    from sync.server.worker import APP_FACTORY, WORKER_ENV, worker_settings

    url = store.engine.url.render_as_string(hide_password=False)
    os.environ[WORKER_ENV] = worker_settings(url, options, docs=docs, limits=limits)
    store.engine.dispose()   # no pooled connection crosses into a worker
    typer.echo(t("sync.relay.workers", workers=workers))
    uvicorn.run(APP_FACTORY, factory=True, workers=workers, **run)


@app.command("enroll-code")
def enroll_code(commune: Annotated[str, typer.Option("--commune", help="5-digit code")],
                device: Annotated[str | None, typer.Option(
                    "--device", help="re-key this enrolled device (its commune's code only)")
                ] = None,
                db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Cấp mã đăng ký dùng một lần / issue a one-time enrolment code (last line)."""
    from sync.server.store import DistrictError

    try:
        code = _store(db, db_file).issue_enroll_code(commune.strip(), device)
    except DistrictError as err:
        if err.code == "unknown_device":
            fail(t("sync.err.no_device", device=device))
        if err.code == "wrong_commune":
            fail(t("sync.relay.device_commune", device=device))
        fail(t("sync.err.bad_commune"))
    if device is None:
        typer.echo(t("sync.district.code", commune=commune))
    else:
        typer.echo(t("sync.relay.rekey_code", device=device, commune=commune))
    typer.echo(code)


@app.command()
def revoke(device: Annotated[str, typer.Argument(help="device id")], db: DbOpt = None,
           db_file: DbFileOpt = None) -> None:
    """Thu hồi một máy / revoke a device (its data stays)."""
    if not _store(db, db_file).revoke(device):
        fail(t("sync.err.no_device", device=device))
    typer.echo(t("sync.district.revoked", device=device))


@app.command("admin-token")
def admin_token(db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Cấp mã quản trị để ghi thay đổi qua API / issue the district admin API token."""
    token = _store(db, db_file).new_admin_token()
    typer.echo(t("sync.district.token"))
    typer.echo(token)


@app.command("new-epoch")
def new_epoch(db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Sau khi khôi phục từ bản sao lưu / after restoring this database from a backup."""
    typer.echo(t("sync.district.epoch", epoch=_store(db, db_file).set_epoch()))


@app.command("record-change")
def record_change(code: Annotated[str, typer.Argument(help="dossier code")],
                  kind: Annotated[str, typer.Option("--kind", help="result|status|correction")],
                  status: Annotated[str, typer.Option("--status")] = "",
                  data: Annotated[str, typer.Option("--data", help="JSON object")] = "{}",
                  db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Ghi kết quả/trạng thái/đính chính cho hồ sơ / record an upstream change."""
    import orjson

    from sync.server.store import DistrictError

    try:
        fields = orjson.loads(data)
        if not isinstance(fields, dict):
            raise ValueError
    except ValueError:
        fail(t("sync.err.bad_data"))
    try:
        change = _store(db, db_file).record_change(code, kind, status, fields)
    except DistrictError as err:
        if err.code == "unknown_dossier":
            fail(t("sync.err.unknown_dossier", code=code))
        fail(f"{err.code}: {err.message}")
    typer.echo(t("sync.district.change", seq=change["seq"], code=code,
                 base=change["base_status"], status=change["status"]))


@app.command("import")
def import_(bundle: Annotated[Path, typer.Argument(help=".ccbundle file")],
            out: Annotated[Path | None, typer.Option("--out", help="ack file")] = None,
            chunk: Annotated[int, typer.Option("--chunk-records",
                                               help="records per transaction")] = 1000,
            db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Nhập gói USB (an toàn khi nhập lại) / import a USB bundle idempotently."""
    from ccdesk.domain.errors import CcdeskError
    from ccdesk.storage.files import MAX_BUNDLE_BYTES, read_bounded, write_private_file
    from sync.bundle import BundleError
    from sync.server.bundles import ack_counts, import_bundle

    try:  # bounded: /dev/zero once made this hang while memory grew by gigabytes
        data = read_bounded(bundle, MAX_BUNDLE_BYTES)
    except CcdeskError as err:
        fail(err)
    try:
        ack = import_bundle(_store(db, db_file), data, max(1, chunk))
    except BundleError:
        fail(t("sync.err.bad_bundle", file=bundle), code=40)
    target = out or bundle.with_name(bundle.name + ".ack.json")
    try:
        write_private_file(target, ack)  # atomic and owner-only
    except CcdeskError as err:
        fail(err)
    typer.echo(t("sync.bundle.imported", file=target, **ack_counts(ack)))


@app.command("calendar-import")
def calendar_import(file: Annotated[Path, typer.Argument(help="official_calendar.toml")],
                    db: DbOpt = None, db_file: DbFileOpt = None) -> None:
    """Phát hành lịch nghỉ chính thức cho các xã / publish the official holiday schedule."""
    from ccdesk.domain.errors import CcdeskError
    from ccdesk.domain.official_calendar import MAX_BYTES, parse_schedule
    from ccdesk.storage.files import read_bounded_text
    from sync.server.store import DistrictError

    try:  # bounded (a FIFO or /dev/zero is refused); the desk's own parser, line and field
        text = parse_schedule(read_bounded_text(file, MAX_BYTES), source=str(file)).text
        done = _store(db, db_file).import_schedule(text)
    except CcdeskError as err:
        fail(t("sync.calendar_feed.refused", file=file, detail=err.message()))
    except DistrictError as err:
        fail(t("sync.calendar_feed.refused", file=file, detail=f"{err.code}: {err.message}"))
    key = "published" if done["outcome"] == "applied" else "unchanged"
    typer.echo(t(f"sync.calendar_feed.{key}", version=done["version"]))


@app.command()
def stats(db: DbOpt = None, db_file: DbFileOpt = None,
          as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Số liệu theo xã / per commune: dossiers, events, mutations, last push."""
    rows = _store(db, db_file).stats()
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['commune']}  {r['dossiers']:>8}  {r['events']:>8}  {r['mutations']:>8}  "
                   f"{r['last_push_at'] or '—'}")


HEALTH_COLUMNS = ("commune", "device_id", "status", "last_contact_at", "silent_s",
                  "records_waiting", "oldest_waiting_s", "quarantined", "conflicts",
                  "relay_conflicts", "app_version", "clock_offset_s", "received_through_seq",
                  "last_push_at", "reported_at")


@app.command()
def health(db: DbOpt = None, db_file: DbFileOpt = None,
           as_json: Annotated[bool, typer.Option("--json")] = False,
           as_csv: Annotated[bool, typer.Option("--csv")] = False) -> None:
    """Tình trạng các máy / one row per commune and device: last contact, waiting, conflicts."""
    rows = _store(db, db_file).health()
    if as_json:
        print_json(rows)
        return
    if as_csv:
        import csv
        import sys

        writer = csv.DictWriter(sys.stdout, fieldnames=HEALTH_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    typer.echo(t("sync.health.title"))
    header = [t(f"sync.health.{key}") for key in ("commune", "device", "last_contact",
                                                  "waiting", "oldest", "quarantined",
                                                  "conflicts", "version", "clock")]
    table = [header] + [_health_cells(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def _health_cells(row: dict[str, object]) -> list[str]:
    def shown(value: object) -> str:
        return "—" if value is None else str(value)

    device = str(row["device_id"])[:8]
    if row["status"] != "active":
        device += f" ({t('sync.health.revoked')})"
    oldest = row["oldest_waiting_s"]
    return [str(row["commune"]), device,
            str(row["last_contact_at"] or t("sync.health.never")),
            shown(row["records_waiting"]),
            _duration(oldest) if isinstance(oldest, int) else "—",
            shown(row["quarantined"]),
            f"{shown(row['conflicts'])} / {row['relay_conflicts']}",
            shown(row["app_version"]), shown(row["clock_offset_s"])]


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    return (f"{days}d " if days else "") + f"{rest // 3600:02}:{rest % 3600 // 60:02}"
