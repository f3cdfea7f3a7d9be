"""Import contracts (docs/design/style.md): the core and sync never load Textual or the screens."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"ccdesk.app", "ccdesk.cli"}


def _modules(package: str) -> list[str]:
    found = []
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
        if ".migrations.versions" in info.name or info.name.endswith("migrations.env"):
            continue
        if info.name not in ALLOWED:
            found.append(info.name)
    return found


def test_core_and_sync_never_import_textual_or_screens() -> None:
    modules = _modules("ccdesk") + (_modules("sync") if (ROOT / "sync").exists() else [])
    assert "ccdesk.services" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')"
        " or m == 'screens' or m.startswith('screens.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"textual/screens imported by the core: {out.stdout}"
