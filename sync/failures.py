"""The kinds of a failed exchange with the upstream: what the engine does next.

``SyncFailure.code`` is the stable detail (``captive_portal``, ``http_503``, ``revoked``...) shown
in logs and ``sync status``; its ``kind`` decides between waiting and retrying, halving the batch,
asking before re-sending, and stopping with one of the exit codes of the README. The failure
catalogue (docs/design/sync-failures.md) says which failure each kind answers.
"""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    RETRY = "retry"            # the link or the server failed before the request was taken
    AMBIGUOUS = "ambiguous"    # may have been committed: ask the server before re-sending
    TOO_LARGE = "too_large"    # 413: halve the batch (SF-BATCH-TOO-LARGE)
    AUTH = "auth"              # the device is unknown, revoked or badly signed: stop (exit 30)
    REFUSED = "refused"        # the server refuses on purpose (demo data, training): a person
    GONE = "gone"              # the pull cursor is older than the server keeps: resync once
    INTERNAL = "internal"      # anything else: stop (exit 50)
