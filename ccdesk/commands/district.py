"""``ccdesk district …``: the reference district (upstream) server and its admin commands.

``--db`` takes a SQLAlchemy URL: SQLite in the data dir by default, or
``postgresql+psycopg://user@host/db`` for a province with hundreds of communes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ccdesk.commands.common import STATE, fail, print_json
from ccdesk.i18n import t

app = typer.Typer(help="Máy chủ cấp trên mẫu / the reference district server.",
                  no_args_is_help=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="sqlite:///… or postgresql+psycopg://…",
                                           envvar="CCDESK_DISTRICT_DB")]


def _url(db: str | None) -> str:
    from sync.server.store import default_url

    if db is None:
        return default_url(STATE.paths.data_dir)
    if "://" not in db:   # a plain path means a SQLite file
        return f"sqlite:///{Path(db).expanduser().resolve()}"
    return db


def _store(db: str | None, **options: object):  # noqa: ANN202 - DistrictStore
    from sync.server.store import DistrictStore

    try:
        return DistrictStore.open(_url(db), **options)
    except Exception as exc:  # noqa: BLE001 - unreachable database: say which, no traceback
        fail(f"--db {_safe(_url(db))}: {type(exc).__name__}: {str(exc).splitlines()[0]}")


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
          accept_demo: Annotated[bool, typer.Option("--accept-demo",
                                                    help="accept demo databases")] = False,
          preferred_batch_bytes: Annotated[int | None, typer.Option(
              "--preferred-batch-bytes")] = None,
          max_batch_bytes: Annotated[int | None, typer.Option("--max-batch-bytes")] = None,
          ) -> None:
    """Chạy máy chủ / run the server (FastAPI + uvicorn)."""
    import uvicorn

    from sync.server.app import create_app

    options: dict[str, object] = {"accept_demo": accept_demo}
    if preferred_batch_bytes:
        options["preferred_batch_bytes"] = preferred_batch_bytes
    if max_batch_bytes:
        options["max_batch_bytes"] = max_batch_bytes
    store = _store(db, **options)
    typer.echo(t("sync.district.serving", host=host, port=port, db=_safe(_url(db))))
    uvicorn.run(create_app(store), host=host, port=port, log_level="warning",
                access_log=False)


@app.command("enroll-code")
def enroll_code(commune: Annotated[str, typer.Option("--commune", help="5-digit code")],
                db: DbOpt = None) -> None:
    """Cấp mã đăng ký dùng một lần / issue a one-time enrolment code (last line)."""
    from sync.server.store import DistrictError

    try:
        code = _store(db).issue_enroll_code(commune.strip())
    except DistrictError:
        fail(t("sync.err.bad_commune"))
    typer.echo(t("sync.district.code", commune=commune))
    typer.echo(code)


@app.command()
def revoke(device: Annotated[str, typer.Argument(help="device id")], db: DbOpt = None) -> None:
    """Thu hồi một máy / revoke a device (its data stays)."""
    if not _store(db).revoke(device):
        fail(t("sync.err.no_device", device=device))
    typer.echo(t("sync.district.revoked", device=device))


@app.command("admin-token")
def admin_token(db: DbOpt = None) -> None:
    """Cấp mã quản trị để ghi thay đổi qua API / issue the district admin API token."""
    token = _store(db).new_admin_token()
    typer.echo(t("sync.district.token"))
    typer.echo(token)


@app.command("new-epoch")
def new_epoch(db: DbOpt = None) -> None:
    """Sau khi khôi phục từ bản sao lưu / after restoring this database from a backup."""
    typer.echo(t("sync.district.epoch", epoch=_store(db).set_epoch()))


@app.command("record-change")
def record_change(code: Annotated[str, typer.Argument(help="dossier code")],
                  kind: Annotated[str, typer.Option("--kind", help="result|status|correction")],
                  status: Annotated[str, typer.Option("--status")] = "",
                  data: Annotated[str, typer.Option("--data", help="JSON object")] = "{}",
                  db: DbOpt = None) -> None:
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
        change = _store(db).record_change(code, kind, status, fields)
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
            db: DbOpt = None) -> None:
    """Nhập gói USB (an toàn khi nhập lại) / import a USB bundle idempotently."""
    from ccdesk.domain.errors import CcdeskError
    from ccdesk.storage.files import MAX_BUNDLE_BYTES, read_bounded, write_private_file
    from sync.bundle import BundleError, ack_counts, import_bundle

    try:  # bounded: /dev/zero once made this hang while memory grew by gigabytes
        data = read_bounded(bundle, MAX_BUNDLE_BYTES)
    except CcdeskError as err:
        fail(err)
    try:
        ack = import_bundle(_store(db), data, max(1, chunk))
    except BundleError:
        fail(t("sync.err.bad_bundle", file=bundle), code=40)
    target = out or bundle.with_name(bundle.name + ".ack.json")
    try:
        write_private_file(target, ack)  # atomic and owner-only
    except CcdeskError as err:
        fail(err)
    typer.echo(t("sync.bundle.imported", file=target, **ack_counts(ack)))


@app.command()
def stats(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Số liệu theo xã / per commune: dossiers, events, mutations, last push."""
    rows = _store(db).stats()
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['commune']}  {r['dossiers']:>8}  {r['events']:>8}  {r['mutations']:>8}  "
                   f"{r['last_push_at'] or '—'}")
