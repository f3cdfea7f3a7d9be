"""report facts: each dossier's II.06a classification, kept at every transition

The period report judges a dossier by when its processing ended (result ready, stopped,
withdrawn, refused; not the citizen's pick-up) and a past period as it stood at its end
(docs/reports.md). Working that out from the event history for a million dossiers on every
report would be slow, so each dossier carries the facts the report needs, small integers a
compact index can hold:

* ``rf_received_day``: the day it was received (``date.toordinal()``); NULL for a dossier refused
  at intake, which the report never counts (the index leaves those rows out).
* ``rf_channel``: 0 direct, 1 postal, 2 fully online, 3 partly online.
* ``rf_accepted_day``: the day it was accepted (the clock started); fees and "guidance given,
  not completed" are read from it.
* ``rf_intake_supplement``: 1 when the first visit got a supplement slip (Mẫu 02).
* ``rf_end_day``, ``rf_end_class``: the day processing ended and how: 0 early, 1 on time,
  2 late, judged then against the due time in force with the extension rule; 3 withdrawn or
  refused after a supplement request (on time by the form's heading, left out of the Decision
  766 on-time indicator). NULL while it runs.

A trigger on ``dossierevent`` keeps them in the same transaction as every event, whoever writes
it (the desk's services, an upstream update, demo data). ``ix_dossier_facts`` holds them in
(procedure, field) order, so the report reads one narrow index with no table look-up and no sort;
it replaces ``ix_dossier_report`` (0004), which held the wide text timestamps instead.
``ix_dossier_guidance`` holds the few dossiers whose first visit got a supplement slip, for the
"guidance given, not completed" line. ``ix_rating_satisfaction`` (officer, level, time) lets the
ratings of a period be counted as one range per officer and level, without sorting them; it
replaces ``ix_rating_report`` (0004).

The backfill replays what the trigger would have written: the end is the first event into an
ended state after the last event into a running one, judged against the dossier's due time
today (the due time cannot change after processing ends, except by an upstream correction).

Revision ID: 0010_report_facts
Revises: 0009_official_calendar
"""

from __future__ import annotations

from alembic import op

revision = "0010_report_facts"
down_revision = "0009_official_calendar"
branch_labels = None
depends_on = None

# Kept in step with ccdesk/domain/reports.py (ENDED_STATUSES, OPEN_STATUSES, NOT_JUDGED_ENDS,
# EXTENSION_MOVES_DUE); a migration must not import code that changes after it is written.
ENDED = "('result_ready', 'returned', 'stopped', 'withdrawn', 'refused')"
OPEN = "('received', 'in_progress', 'handed_off', 'waiting_supplement')"
NOT_JUDGED = "('withdrawn', 'refused')"
MOVES = "('2025')"
COLUMNS = ("rf_received_day", "rf_channel", "rf_accepted_day", "rf_intake_supplement",
           "rf_end_day", "rf_end_class")
INDEX = ("procedure_code", "field", "rf_received_day", "rf_end_day", "rf_end_class",
         "rf_channel", "rf_accepted_day", "rf_intake_supplement", "supplement_rounds",
         "fee_amount")
GUIDANCE_INDEX = ("procedure_code", "field", "rf_received_day", "rf_end_day", "rf_channel",
                  "rf_accepted_day")


def day(expr: str) -> str:
    """The ``date.toordinal()`` of a stored time (NULL stays NULL)."""
    return f"CAST(julianday(substr({expr}, 1, 10)) - 1721424.5 AS INTEGER)"


CHANNEL = ("CASE channel WHEN 'postal' THEN 1 WHEN 'online_full' THEN 2 "
           "WHEN 'online_partial' THEN 3 ELSE 0 END")
RECEIVED = (f"CASE WHEN status = 'refused' AND supplement_rounds = 0 THEN NULL "
            f"ELSE {day('received_at')} END")


def end_class(dossier_id: str, status: str, at: str) -> str:
    """0 early / 1 on time / 2 late / 3 not judged, for an end at ``at`` into ``status``; the
    due time is the dossier's with the extension rule (domain.reports.end_outcome)."""
    judged = (f"COALESCE((SELECT e.original_due FROM extension e WHERE e.dossier_id = {dossier_id}"
              f" AND (x.regime NOT IN {MOVES} OR e.at > e.original_due) ORDER BY e.seq LIMIT 1),"
              f" x.due_at)")
    return (f"CASE WHEN {status} IN {NOT_JUDGED} THEN 3 ELSE (SELECT CASE WHEN j IS NULL THEN 1 "
            f"WHEN substr({at}, 1, 10) < substr(j, 1, 10) THEN 0 WHEN {at} <= j THEN 1 ELSE 2 END "
            f"FROM (SELECT {judged} AS j FROM dossier x WHERE x.id = {dossier_id})) END")


TRIGGER = f"""
CREATE TRIGGER dossierevent_report_facts AFTER INSERT ON dossierevent
WHEN new.from_status IS NULL OR new.to_status IS NOT new.from_status
BEGIN
  UPDATE dossier SET
    rf_received_day = {RECEIVED},
    rf_channel = {CHANNEL},
    rf_accepted_day = {day('accepted_at')},
    rf_intake_supplement = CASE WHEN new.from_status IS NULL
      THEN new.to_status = 'waiting_supplement' ELSE rf_intake_supplement END,
    rf_end_day = CASE WHEN new.to_status IN {ENDED} THEN COALESCE(rf_end_day, {day('new.at')})
                      WHEN new.to_status IN {OPEN} THEN NULL ELSE rf_end_day END,
    rf_end_class = CASE
      WHEN new.to_status IN {ENDED} THEN CASE WHEN rf_end_day IS NOT NULL THEN rf_end_class
        ELSE {end_class('new.dossier_id', 'new.to_status', 'new.at')} END
      WHEN new.to_status IN {OPEN} THEN NULL ELSE rf_end_class END
  WHERE id = new.dossier_id;
END
"""

# The event that ended processing: the first into an ended state after the last into a
# running one (a dossier reopened by an upstream correction ends again later).
_END_EVENT = f"""(SELECT MIN(e.id) FROM dossierevent e WHERE e.dossier_id = d.id
  AND e.to_status IN {ENDED} AND e.id > COALESCE((SELECT MAX(o.id) FROM dossierevent o
  WHERE o.dossier_id = d.id AND o.to_status IN {OPEN}), 0))"""

BACKFILL = [
    f"""UPDATE dossier SET rf_received_day = {RECEIVED}, rf_channel = {CHANNEL},
          rf_accepted_day = {day('accepted_at')},
          rf_intake_supplement = COALESCE((SELECT e.to_status = 'waiting_supplement'
            FROM dossierevent e WHERE e.dossier_id = dossier.id ORDER BY e.id LIMIT 1), 0)""",
    f"""WITH ends AS (SELECT d.id AS dossier_id, {_END_EVENT} AS event_id
                      FROM dossier d WHERE d.status IN {ENDED})
        UPDATE dossier SET rf_end_day = {day('ev.at')},
          rf_end_class = {end_class('ev.dossier_id', 'ev.to_status', 'ev.at')}
        FROM ends JOIN dossierevent ev ON ev.id = ends.event_id
        WHERE dossier.id = ends.dossier_id""",
]


def upgrade() -> None:
    for name in COLUMNS:
        op.execute(f"ALTER TABLE dossier ADD COLUMN {name} INTEGER")
    for statement in BACKFILL:
        op.execute(statement)
    op.execute(TRIGGER)
    op.execute("DROP INDEX IF EXISTS ix_dossier_report")
    op.execute(f"CREATE INDEX ix_dossier_facts ON dossier({', '.join(INDEX)}) "
               "WHERE rf_received_day IS NOT NULL")
    op.execute(f"CREATE INDEX ix_dossier_guidance ON dossier({', '.join(GUIDANCE_INDEX)}) "
               "WHERE rf_intake_supplement = 1 AND rf_received_day IS NOT NULL")
    op.execute("DROP INDEX IF EXISTS ix_rating_report")
    op.execute("CREATE INDEX ix_rating_satisfaction ON rating(officer_id, level, at)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_rating_satisfaction")
    op.execute("CREATE INDEX ix_rating_report ON rating(at, officer_id, level)")
    op.execute("DROP INDEX IF EXISTS ix_dossier_guidance")
    op.execute("DROP INDEX IF EXISTS ix_dossier_facts")
    op.execute("DROP TRIGGER IF EXISTS dossierevent_report_facts")
    op.execute("CREATE INDEX ix_dossier_report ON dossier(procedure_code, field, received_at, "
               "closed_at, status, channel, accepted_at, due_at, paused_at, extensions, "
               "supplement_rounds, regime, fee_amount)")
    for name in COLUMNS:
        op.execute(f"ALTER TABLE dossier DROP COLUMN {name}")
