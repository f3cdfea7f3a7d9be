"""Import contracts of sync (docs/design/style.md): no Textual anywhere in sync, and the module
the desk imports (sync.service) loads neither httpx nor the server stack until a run starts."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_sync_never_imports_textual_or_screens() -> None:
    modules = loaded_after("import sync.engine, sync.bundle, sync.doctor, sync.conflicts, "
                           "sync.server.app, sync.server.store, ccdesk.commands.sync, "
                           "ccdesk.commands.district")
    assert "textual" not in modules and "screens" not in modules


def test_desk_side_import_stays_light() -> None:
    modules = loaded_after("import sync.service")
    assert not {"httpx", "fastapi", "uvicorn", "textual"} & modules


def test_the_outbox_package_keeps_its_layers() -> None:
    """Services write outbox rows without loading sync or httpx; ``sync status`` reads the
    counts without loading SQLAlchemy; the retention code no longer imports the engine."""
    written = loaded_after("import ccdesk.services.intake, ccdesk.storage.outbox.write")
    assert not {"sync", "httpx", "textual"} & written
    status = loaded_after("import ccdesk.storage.outbox.status")
    assert not {"sqlalchemy", "sqlmodel", "sync", "httpx"} & status
    pruning = loaded_after("import ccdesk.storage.outbox.retention")
    assert not {"sync", "httpx"} & pruning


def test_sync_messages_have_the_same_keys_in_both_languages() -> None:
    def keys(table: dict, prefix: str = "") -> set[str]:
        out: set[str] = set()
        for key, value in table.items():
            out |= keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
        return out

    vi = keys(tomllib.loads((ROOT / "ccdesk/locales/vi/sync.toml").read_text("utf-8")))
    en = keys(tomllib.loads((ROOT / "ccdesk/locales/en/sync.toml").read_text("utf-8")))
    assert vi == en and len(vi) > 100
