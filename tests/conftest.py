"""One desk key for the whole test session.

Test fixtures copy set-up databases between folders; the desk key that peppers PINs and chains
the audit trail lives outside the database (``ccdesk/storage/deskkey.py``), so the copies share
one key file, as a desk restored by IT shares the key file IT kept. Tests of the key itself
point ``CCDESK_KEY_FILE`` elsewhere.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("CCDESK_KEY_FILE",
                      str(Path(tempfile.mkdtemp(prefix="ccdesk-test-key-")) / "desk.key"))
