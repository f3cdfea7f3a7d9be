"""The desk's start-up does not pay for the forms: fpdf2 loads on the first form only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_opening_the_services_does_not_import_fpdf(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ccdesk.paths import Paths\n"
        "from ccdesk.services import Services\n"
        f"root = Path({str(tmp_path)!r})\n"
        "services = Services.open(root / 'd.sqlite3', Paths(root / 'data', root / 'config'))\n"
        "from ccdesk.forms.service import FormService\n"
        "forms = FormService(services)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fpdf', 'fontTools',"
        " 'segno')))\n"
        "services.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
