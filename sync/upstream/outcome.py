"""What a forwarder run reports: its exit code (a contract, docs/upstream.md "Commands") and the
counts of ``--json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXIT_OK, EXIT_PARTIAL, EXIT_NETWORK, EXIT_AUTH, EXIT_HUMAN, EXIT_INTERNAL = 0, 10, 20, 30, 40, 50


@dataclass
class ForwardResult:
    """What one ``district forward`` run did; ``to_json`` is its ``--json`` output."""

    exit_code: int = EXIT_OK
    error: str = ""
    snapshots_sent: int = 0
    steps_sent: int = 0
    ratings_sent: int = 0          # monthly satisfaction aggregates (DongBoDanhGia)
    dead_letter: int = 0           # new dead letters this run
    pending: int = 0
    demo_held: int = 0
    seconds: float = 0.0
    passes: int = 0
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def delivered_any(self) -> bool:
        return bool(self.snapshots_sent or self.steps_sent or self.ratings_sent)


class Stop(Exception):
    """Ends the run with ``exit_code`` (an outage, refused credentials, a lost lease)."""

    def __init__(self, exit_code: int, error: str) -> None:
        super().__init__(error)
        self.exit_code, self.error = exit_code, error
