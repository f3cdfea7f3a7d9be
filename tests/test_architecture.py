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


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_module_below_the_composition_root_is_under_the_no_textual_contract() -> None:
    contracts = _pyproject()["tool"]["importlinter"]["contracts"]
    (no_textual,) = [c for c in contracts if c["name"].startswith("Below the composition root")]
    listed = set(no_textual["source_modules"])
    top_level = {f"ccdesk.{p.stem}" for p in (ROOT / "ccdesk").iterdir()
                 if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.stem != "__init__"}
    root = {"ccdesk.app", "ccdesk.cli", "ccdesk.launch"}
    assert top_level - root - listed == set(), "add new modules to the contract in pyproject.toml"
    assert "sync" in listed


def test_ci_runs_the_readmes_test_command_word_for_word() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ci.startswith("python3 -m venv .venv && ")
    assert f"```sh\n{ci}\n```" in readme
