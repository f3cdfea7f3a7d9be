"""What a sync run reports: its exit code (a contract, docs/sync.md), counters, and the early
stop that carries a code."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXIT_OK, EXIT_PARTIAL, EXIT_NETWORK, EXIT_AUTH, EXIT_HUMAN, EXIT_INTERNAL = 0, 10, 20, 30, 40, 50


class StopRun(Exception):
    """Ends a run early with an exit code and a stable error code (``detail``: where, for
    messages; never personal data)."""

    def __init__(self, exit_code: int, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.exit_code, self.code, self.detail = exit_code, code, detail


@dataclass
class RunResult:
    """What one run did; ``to_json`` is the ``--json`` output of push/pull/run."""

    exit_code: int = EXIT_OK
    error: str = ""
    records_sent: int = 0
    acked: int = 0
    duplicates: int = 0
    quarantined: int = 0
    conflicts: int = 0
    pulled: int = 0
    pull_conflicts: int = 0
    bytes_raw: int = 0
    bytes_wire: int = 0
    bytes_received: int = 0
    batches: int = 0
    resent_after_restore: int = 0
    # Dossier codes the upstream holds from this desk that its file no longer has (the file was
    # restored from an older backup): the code counters now skip them.
    codes_upstream_only: int = 0
    upstream_only_codes: list[str] = field(default_factory=list)
    # Acknowledged rows dropped at the end of this run (retention window,
    # ccdesk/storage/outbox/retention.py).
    pruned: int = 0
    pruned_bytes: int = 0
    # Rows the upstream lost (restored from a backup) that this desk had already dropped after
    # the retention window: they cannot be sent again; the run ends with 40 and names them.
    pruned_lost: int = 0
    pruned_lost_seqs: list[tuple[int, int]] = field(default_factory=list)
    pending: int = 0
    # Files (scans) after the records, within the run's file budget (sync/files.py): sent
    # whole this run, chunk bytes the relay confirmed, all HTTP body bytes of file exchanges,
    # files left waiting (their dossier not on the relay yet, or refused for now), files the
    # relay found damaged in transit, whether the budget ended the transfers, and what still
    # waits after the run (count and bytes).
    files_sent: int = 0
    file_bytes_sent: int = 0
    file_bytes_wire: int = 0
    files_waiting: int = 0
    files_refused: int = 0
    files_budget_spent: bool = False
    files_pending: int = 0
    file_bytes_pending: int = 0
    seconds: float = 0.0
    # Where the run stopped, when the error code alone does not say (e.g. which upstream value
    # was out of range).
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
