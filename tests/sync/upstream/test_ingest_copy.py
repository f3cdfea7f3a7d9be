"""The ledger's bulk copy (sync/upstream/ledger.py ``ingest``): the order keys the database
computes are the ones :func:`sync.upstream.source.sort_key` computes, for ordinary events and
odd ones (no time, a number for a time, a negative sequence), on SQLite and PostgreSQL; the
dossiers' delivery rows carry the commune and the demo flag."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import orjson
import pytest
from sqlalchemy import insert, select

from sync.server.models import DistrictDevice, DistrictMutation
from sync.server.store import DistrictStore
from sync.upstream.ledger import ingest
from sync.upstream.source import RelaySource, event_at, sort_key
from sync.upstream.tables import DOSSIER, STEP

M, DEV = DistrictMutation.__table__, DistrictDevice.__table__
ODD_EVENTS = [
    {"at": "2026-01-05T08:00:00.123456789"},      # longer than 26 characters: cut
    {"at": "2026-01-05T08:00:00"},
    {"at": 20260105},                              # not a string: no time
    {"at": ""},
    {},                                            # no time at all
    {"at": "Thứ hai 05/01"},                       # not ASCII
]


@pytest.fixture
def store(relay_url: str) -> Iterator[DistrictStore]:
    s = DistrictStore.open(relay_url)
    yield s
    s.engine.dispose()


def _mutations(store: DistrictStore) -> list[dict[str, object]]:
    rows = []
    for n, event in enumerate(ODD_EVENTS):
        code = f"000.17.22.H56-260105-{n + 1:04d}"
        for k, seq in enumerate((n * 10 + 1, -(n + 1) if n == 2 else n * 10 + 2)):
            rows.append({"mutation_id": f"m{n}-{k}", "device_id": "demo" if n == 1 else "real",
                         "device_seq": seq, "entity_id": code, "commune_code": "26734",
                         "op": "dossier.event",
                         "payload": orjson.dumps({"code": code, "event": event}).decode(),
                         "result": "applied"})
    rows.append({**rows[0], "mutation_id": "refused", "result": "rejected"})
    return rows


def test_the_database_computes_the_same_order_keys_as_python(store: DistrictStore) -> None:
    rows = _mutations(store)
    now = datetime(2026, 1, 5, 1, 0, 0)
    with store.engine.begin() as conn:
        for device, demo in (("real", False), ("demo", True)):
            conn.execute(insert(DEV).values(**_device(conn, device, demo)))
        conn.execute(insert(M), [{**r, "payload_sha256": "", "batch_id": "b",
                                  "received_at": now} for r in rows])
    added = ingest(store.engine, RelaySource())
    applied = [r for r in rows if r["result"] == "applied"]
    assert added == len(applied)
    with store.engine.connect() as conn:
        keys = dict(conn.execute(select(STEP.c.mutation_id, STEP.c.sort_key)).all())
        dossiers = {r.code: (r.commune_code, r.demo, r.snapshot_state)
                    for r in conn.execute(select(DOSSIER))}
    assert keys == {r["mutation_id"]: sort_key(event_at(str(r["payload"])),
                                               int(str(r["device_seq"])), str(r["mutation_id"]))
                    for r in applied}
    assert dossiers == {str(r["entity_id"]): ("26734", r["device_id"] == "demo", "pending")
                        for r in applied}
    assert ingest(store.engine, RelaySource()) == 0   # nothing twice


def _device(conn: object, device: str, demo: bool) -> dict[str, object]:
    columns = {c.name: c for c in DEV.columns}
    values: dict[str, object] = {"device_id": device, "demo": demo}
    for name, column in columns.items():
        if name in values or column.nullable or column.default is not None \
                or column.server_default is not None:
            continue
        values[name] = datetime(2026, 1, 1) if "at" in name.split("_")[-1] \
            else 0 if str(column.type).upper().startswith(("INT", "BIG")) else f"{device}-{name}"
    return values
