"""SQL that reads outbox rows by sync state (see :mod:`.states`).

A stored-``pending`` row inside an ``outbox_acked`` seq range is acknowledged; inside an
``outbox_in_flight`` range it is in flight; held rows keep their own state. No imports: the
``sync status`` command reads the file with plain ``sqlite3`` and must start in a blink, and the
desk's own counts (reports) use the same statements, so both always agree.
"""

from __future__ import annotations

# The seq gaps between acknowledged ranges, as ``(lo, hi)`` exclusive bounds: the stored-pending
# rows inside them are the ones not yet acknowledged. Counting gap by gap keeps the count
# proportional to what is waiting, not to a million acknowledged rows.
_ACK_GAPS = ("SELECT LAG(last_seq, 1, 0) OVER (ORDER BY first_seq) AS lo, first_seq AS hi "
             "FROM outbox_acked UNION ALL "
             "SELECT COALESCE(MAX(last_seq), 0), 9223372036854775807 FROM outbox_acked")

# Rows not yet acknowledged (waiting or in flight): the desk's "not yet synced" figure.
UNSYNCED_COUNT_SQL = (
    "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'in_flight') + COALESCE(SUM("
    "(SELECT COUNT(*) FROM outbox o WHERE o.state = 'pending' AND o.device_seq > g.lo "
    f"AND o.device_seq < g.hi)), 0) FROM ({_ACK_GAPS}) g")

# Client time of the oldest row not yet acknowledged (NULL when none).
OLDEST_UNSYNCED_SQL = (
    "SELECT MIN(t) FROM (SELECT (SELECT MIN(o.client_time) FROM outbox o "
    "WHERE o.state = 'pending' AND o.device_seq > g.lo AND o.device_seq < g.hi) AS t "
    f"FROM ({_ACK_GAPS}) g UNION ALL "
    "SELECT MIN(client_time) FROM outbox WHERE state = 'in_flight')")

# Rows acknowledged: per row (a person settled them, or written before 0005) and by range.
ACKED_COUNT_SQL = (
    "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'acked') + COALESCE(SUM("
    "(SELECT COUNT(*) FROM outbox o WHERE o.state = 'pending' "
    "AND o.device_seq BETWEEN a.first_seq AND a.last_seq)), 0) FROM outbox_acked a")

# Rows in flight: in a batch on the wire (and not acknowledged), or left so before 0005.
# DISTINCT: a row is counted once even if two in-flight ranges were to overlap. CROSS JOIN
# makes SQLite loop over the few ranges, not over every stored-pending (acknowledged) row.
IN_FLIGHT_COUNT_SQL = (
    "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'in_flight') + (SELECT "
    "COUNT(DISTINCT o.device_seq) "
    "FROM outbox_in_flight f CROSS JOIN outbox o ON o.state = 'pending' "
    "AND o.device_seq BETWEEN f.first_seq AND f.last_seq "
    "WHERE NOT COALESCE((SELECT a.last_seq FROM outbox_acked a WHERE a.first_seq <= "
    "o.device_seq ORDER BY a.first_seq DESC LIMIT 1) >= o.device_seq, 0))")

# Rows held for a person, by state.
HELD_COUNTS_SQL = ("SELECT state, COUNT(*) FROM outbox WHERE state IN ('quarantined', "
                   "'conflict') GROUP BY state")

# Rows dropped after the retention window (migration 0006), and of those, the ones the upstream
# later lost (restored from a backup older than the window): they can no longer be sent.
PRUNED_COUNTS_SQL = (
    "SELECT COALESCE(SUM(last_seq - first_seq + 1), 0), COALESCE(SUM(CASE WHEN lost_at IS NOT "
    "NULL THEN last_seq - first_seq + 1 END), 0) FROM outbox_pruned")
PRUNED_LOST_SQL = ("SELECT first_seq, last_seq FROM outbox_pruned WHERE lost_at IS NOT NULL "
                   "ORDER BY first_seq")

# Files of the desk's dossiers not yet whole on the relay, and their bytes still to send
# (sync/files.py sends them; the partial index ix_stored_file_unsent serves it).
FILES_PENDING_SQL = (
    "SELECT COUNT(*), COALESCE(SUM(size - sent_bytes), 0) FROM stored_file "
    "WHERE sent_at IS NULL AND EXISTS (SELECT 1 FROM attachment a "
    "WHERE a.sha256 = stored_file.sha256)")
