"""Install what each user needs: the desk runs without the server stack, and a command that
needs a missing extra says which one and how to install it (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_ccdesk

SERVER_STACK = ("fastapi", "starlette", "uvicorn", "psycopg", "textual_serve")


@pytest.mark.parametrize(("args", "missing", "extra"), [
    (("district", "serve", "--port", "1"), ("uvicorn",), "server"),
    (("district", "serve", "--port", "1"), ("fastapi",), "server"),
    (("district", "stats", "--db", "postgresql+psycopg://127.0.0.1:1/test"), ("psycopg",),
     "server"),
    (("serve",), ("textual_serve",), "serve"),
])
def test_a_missing_extra_is_named_with_its_install_command(tmp_path: Path, args: tuple[str, ...],
                                                           missing: tuple[str, ...],
                                                           extra: str) -> None:
    out = run_ccdesk(*args, home=tmp_path, lang="en", without=missing)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert f"optional part '{extra}'" in out.stderr
    assert f'pip install "ccdesk[{extra}]"' in out.stderr
    assert out.stdout == ""  # nothing claimed to be listening

    vi = run_ccdesk(*args, home=tmp_path, lang="vi", without=missing)
    assert vi.returncode == 2 and f"phần cài thêm «{extra}»" in vi.stderr


def test_the_desk_works_without_the_server_stack(tmp_path: Path) -> None:
    for args in (("report", "--period", "2026-11", "--json"), ("sync", "status"),
                 ("backup", "--list")):
        out = run_ccdesk(*args, home=tmp_path, lang="en", without=SERVER_STACK)
        assert out.returncode == 0, (args, out.stderr)
