"""A run without ``GET /hello`` while the last one still holds (docs/sync.md, "Sessions").

A push of a few dossiers every ten minutes paid a whole round trip (~1 kB: the signed request,
the reply) for a hello whose answer had not changed. A relay that supports it answers hello
with ``session_s``: for that long the desk may skip it, on three conditions that keep every
check the hello made:

* the run pushes (a pull-only run, or one with nothing waiting, always says hello);
* the stored session is this desk's, for this upstream and device, and younger than
  ``session_s`` (kept in a file beside the database, never in a backup of it);
* the run's first batch carries ``expect``: the relay's epoch and the highest seq this desk
  saw acknowledged (from its own database). The relay applies the batch only if its epoch is
  the same and it holds exactly those seqs from this device, else it answers ``409
  hello_needed`` having applied nothing, and the desk says hello and goes on as before. A relay
  restored from a backup (fewer seqs, or a new epoch) and a desk restored from one (fewer
  acknowledged) both differ there, so the restore checks of the hello still run when needed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from ccdesk.domain.errors import ValidationError
from ccdesk.storage.files import read_bounded, write_private_file
from sync import replies

MAX_SESSION_S = 24 * 3600       # whatever the relay says, a hello at least once a day
HELLO_NEEDED = "hello_needed"


class HelloNeeded(Exception):
    """The relay would not take a batch sent without a hello: say hello, then push again."""


@dataclass(frozen=True)
class Session:
    """What a hello said, for whom, and until when (wall-clock seconds)."""

    url: str
    device_id: str
    epoch: str
    until: float
    preferred_batch_bytes: int
    max_batch_bytes: int
    accept_demo: bool
    dictionary: str | None
    max_file_chunk_bytes: int = 0
    records: int = 1            # the record schema the relay reads (a file of before: 1)

    def hello(self, through: int) -> replies.Hello:
        """The hello this session stands for (``through``: the desk's highest acked seq)."""
        return replies.Hello(epoch=self.epoch, received_through_seq=through, server_time=None,
                             preferred_batch_bytes=self.preferred_batch_bytes,
                             max_batch_bytes=self.max_batch_bytes,
                             accept_demo=self.accept_demo, dictionary=self.dictionary,
                             max_file_chunk_bytes=self.max_file_chunk_bytes,
                             records=self.records)


def path_for(db_path: Path) -> Path:
    """The session file beside a desk database."""
    return db_path.with_name(db_path.name + ".sync-session")


def save(db_path: Path, url: str, device_id: str, hello: replies.Hello) -> None:
    """Keep a hello's answer for ``hello.session_s`` seconds (nothing when the relay offers no
    session). A failure to write only costs the next run a hello."""
    if not hello.session_s:
        forget(db_path)
        return
    session = Session(url, device_id, hello.epoch,
                      time.time() + min(hello.session_s, MAX_SESSION_S),
                      hello.preferred_batch_bytes, hello.max_batch_bytes, hello.accept_demo,
                      hello.dictionary, hello.max_file_chunk_bytes, hello.records)
    try:
        write_private_file(path_for(db_path), orjson.dumps(asdict(session)), fsync=False)
    except (OSError, ValidationError):
        pass


def load(db_path: Path, url: str, device_id: str, epoch: str) -> Session | None:
    """The stored session if it is still good for this upstream, device and epoch."""
    try:
        data = orjson.loads(read_bounded(path_for(db_path), 4096))
        session = Session(**data)
    except (OSError, ValueError, TypeError, ValidationError):
        return None
    now = time.time()
    if type(session.records) is not int \
            or (session.url, session.device_id, session.epoch) != (url, device_id, epoch) \
            or not now < session.until <= now + MAX_SESSION_S:
        return None
    return session


def forget(db_path: Path) -> None:
    try:
        path_for(db_path).unlink()
    except OSError:
        pass
