"""Printing through CUPS: is the configured queue there (``lpstat``), and send a PDF (``lp``).

Job titles carry the form number and dossier code only: ``lp`` titles show up in ``lpstat`` and
printer logs, where personal data must never appear.
"""

from __future__ import annotations

import shutil
import subprocess

from ccdesk.forms.errors import FormError

TIMEOUT_SECONDS = 20


def printer_present(name: str) -> bool:
    """True when CUPS knows a queue called ``name`` (and the CUPS tools are installed)."""
    if not name or shutil.which("lpstat") is None:
        return False
    try:
        done = subprocess.run(["lpstat", "-p", name], capture_output=True, timeout=TIMEOUT_SECONDS,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def send_to_printer(name: str, pdf: bytes, title: str) -> str:
    """Queue ``pdf`` on printer ``name``; returns what ``lp`` said (the job id line)."""
    try:
        done = subprocess.run(["lp", "-d", name, "-t", title, "-"], input=pdf,
                              capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FormError("forms.err.print_failed", printer=name,
                        detail=type(exc).__name__) from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FormError("forms.err.print_failed", printer=name,
                        detail=detail[0] if detail else f"exit {done.returncode}")
    return done.stdout.decode("utf-8", "replace").strip()
