"""Online filings come down (docs/upstream.md, "Online filings"): filed on the double's portal
→ fetched by the relay (SQLite and PostgreSQL, real servers on 127.0.0.1) → the commune's
desk through the change feed → received with the ordinary intake → forwarded as an update of
the portal's record (``/_inspect`` shows status 1 then onwards, under the portal's code)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ccdesk.domain.errors import ValidationError
from ccdesk.domain.lifecycle import Action
from ccdesk.services.intake import ChecklistEntry, Decision, MissingItem
from sync import replies, service
from sync.engine import Backoff, EngineOptions
from sync.server.store import DistrictStore
from sync.upstream import filings
from sync.upstream.config import load_config, save_config
from sync.upstream.profiles import load_profile
from sync.upstream.transport import make_transport
from tests.sync.helpers import COMMUNE, Desk, ServerThread
from tests.sync.test_cli import run
from tests.sync.upstream.conftest import enrolled_desk, forwarder, push
from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER, DoubleServer, config, snapshot

FAST = EngineOptions(backoff=Backoff(base=0.01, cap=0.05), max_attempts=3, lock_wait=5)
PROCEDURE = "1.004873"


def portal_code(n: int) -> str:
    return f"{UNIT}-261205-{n:04d}"


def filed(n: int, *, unit: str = COMMUNE, **fields: str) -> dict[str, Any]:
    """A citizen's filing on the portal (status 1), as the double stores it."""
    item = snapshot(portal_code(n), MaTTHC=PROCEDURE, TenTTHC="Xác nhận tình trạng hôn nhân",
                    TrangThaiHoSo="1", DonViXuLy=unit, KenhThucHien="2",
                    ChuHoSo="Lê Thị Hồng Nhung", SoGiayToChuHoSo="001190012345",
                    SoDienThoaiChuHoSo="0987654321", DiaChiChuHoSo="Thôn Đông, xã An Phú",
                    NgayNopHoSo=f"2026120508{n % 60:02d}00")
    del item["NgayTiepNhan"]   # not received yet
    return {**item, **fields}


class Portal:
    """The double, with its portal test hook and inspection routes."""

    def __init__(self, server: DoubleServer) -> None:
        self.server, self.url = server, server.url

    def file(self, *items: dict[str, Any]) -> None:
        reply = httpx.post(f"{self.url}/_portal/filings", json=list(items)).json()
        assert reply["error_code"] == "0", reply

    def inspect(self, code: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/_inspect/{code}")
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_stats").json()


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    server = DoubleServer(tmp_path / "double.sqlite3", config())
    yield Portal(server)
    server.stop()


@pytest.fixture
def relay(relay_url: str, portal: Portal) -> Iterator[ServerThread]:
    store = DistrictStore.open(relay_url)
    save_config(store.engine, profile="dvcqg", url=portal.url, unit_code=UNIT, username=USER,
                password=PASSWORD, accept_demo=False)
    srv = ServerThread(store)
    yield srv
    srv.stop()
    store.engine.dispose()


@pytest.fixture
def desk(tmp_path: Path, relay: ServerThread) -> Iterator[Desk]:
    d = enrolled_desk(tmp_path / "desk", relay)
    yield d
    d.close()


def fetch(store: DistrictStore) -> filings.FetchResult:
    cfg = load_config(store.engine)
    transport = make_transport(cfg.profile, cfg.creds)
    try:
        return filings.fetch(store.engine, cfg.profile, transport)
    finally:
        transport.close()


def feed(store: DistrictStore, device_id: str) -> list[dict[str, Any]]:
    return store.changes(store.device(device_id), 0)["changes"]


def device_of(desk: Desk) -> str:
    with sqlite3.connect(desk.db_path) as con:
        return con.execute("SELECT device_id FROM sync_state").fetchone()[0]


# --- the relay --------------------------------------------------------------------------------

def test_relay_fetches_stores_per_commune_and_is_idempotent(relay: ServerThread, desk: Desk,
                                                            portal: Portal) -> None:
    store = relay.store
    portal.file(filed(1), filed(2), filed(3, unit="UBND-KHAC"))

    first = fetch(store)

    assert (first.listed, first.new, first.sent_down, first.unrouted, first.rejected) == \
        (3, 3, 2, 1, 0), first
    changes = feed(store, device_of(desk))
    assert [(c["kind"], c["dossier_code"]) for c in changes] == \
        [("online_filing", portal_code(1)), ("online_filing", portal_code(2))]
    assert changes[0]["data"]["applicant_name"] == "Lê Thị Hồng Nhung"
    assert changes[0]["data"]["filed_at"] == "2026-12-05T08:01:00"

    again = fetch(store)                       # idempotent by the portal's code
    assert (again.new, again.sent_down, again.unrouted) == (0, 0, 1), again
    assert len(feed(store, device_of(desk))) == 2

    # The province gives the unknown unit's commune: routed once, then known.
    cfg = load_config(store.engine)
    save_config(store.engine, profile="dvcqg", url=portal.url, unit_code=UNIT, username=USER,
                password=PASSWORD, accept_demo=False,
                settings={"filing_units": {"UBND-KHAC": COMMUNE}})
    routed = fetch(store)
    assert (routed.new, routed.sent_down, routed.unrouted) == (0, 1, 0), routed
    assert [c["dossier_code"] for c in feed(store, device_of(desk))][-1] == portal_code(3)
    last = fetch(store)
    assert (last.sent_down, last.known) == (0, 1), last
    assert cfg.profile.filings_service == "LayHoSoTrucTuyen"


def test_a_reply_is_read_up_to_filings_max_and_the_rest_come_next(relay: ServerThread,
                                                                    portal: Portal) -> None:
    save_config(relay.store.engine, profile="dvcqg", url=portal.url, unit_code=UNIT,
                username=USER, password=PASSWORD, accept_demo=False,
                settings={"filings_max": 2})
    portal.file(filed(1), filed(2), filed(3))
    first = fetch(relay.store)
    assert (first.listed, first.new) == (2, 2), first
    second = fetch(relay.store)
    assert (second.listed, second.new, second.known) == (2, 1, 1), second


def test_bad_items_are_refused_by_rule() -> None:
    profile = load_profile("dvcqg", "2023")
    good = filed(1)
    bad = [
        "not an object",
        filed(2, TrangThaiHoSo="2"),                            # not waiting
        {**filed(3), "MaHoSo": "000 17; DROP"},                 # code pattern
        {**filed(4), "MaTTHC": "khai-sinh"},                    # procedure code
        {**filed(5), "ChuHoSo": "Tên\x00lạ"},                   # control character
        {**filed(6), "ChuHoSo": "A" * 251},                     # too long
        {**filed(7), "NgayNopHoSo": "20261341250000"},          # not a date
        {**filed(8), "SoDienThoaiChuHoSo": 987654321},          # not text
        {k: v for k, v in filed(9).items() if k != "ChuHoSo"},  # no applicant
    ]
    rules = []
    for item in bad:
        with pytest.raises(filings.BadFiling) as err:
            filings.parse_filing(item, profile)
        rules.append(err.value.rule)
    assert rules == ["not_an_object", "not_waiting", "portal_code_format",
                     "procedure_code_format", "applicant_name_too_long_or_control",
                     "applicant_name_too_long_or_control", "filed_at_format",
                     "applicant_phone_not_text", "applicant_name_missing"]
    wire, unit, stamp = filings.parse_filing(good, profile)
    assert (wire["portal_code"], unit, stamp) == (portal_code(1), COMMUNE, "20261205080100")
    # What the relay sends the desk passes the desk's own check of the change feed.
    assert replies.filing("changes", "data", wire) == wire
    # camelCase upstreams: the same keys, cased by the profile.
    camel = load_profile("dvcqg", "2023", {"key_case": "camel"})
    assert filings.parse_filing({k[0].lower() + k[1:]: v for k, v in good.items()},
                                camel)[0] == wire


def test_the_desk_refuses_a_bad_filing_in_the_feed_without_showing_the_value() -> None:
    wire, _unit, _stamp = filings.parse_filing(filed(1), load_profile("dvcqg"))
    with pytest.raises(replies.BadUpstreamValue) as err:
        replies.filing("changes", "changes[0].data", {**wire, "applicant_name": "Lê\nThị"})
    assert "Lê" not in err.value.detail and "applicant_name" in err.value.detail
    with pytest.raises(replies.BadUpstreamValue):
        replies.filing("changes", "changes[0].data", {**wire, "channel": "direct"})


def test_a_facade_cannot_list_filings(tmp_path: Path) -> None:
    profile = load_profile("facade")
    transport = make_transport(profile, load_config_stub())
    try:
        done = filings.fetch(None, profile, transport)  # type: ignore[arg-type]
    finally:
        transport.close()
    assert (done.exit_code, done.error) == (2, "not_supported_by_profile")


def load_config_stub() -> Any:
    from sync.upstream.transport import Credentials

    return Credentials("http://127.0.0.1:9", UNIT, USER, PASSWORD)


def test_cli_filings_fetch(tmp_path: Path, relay: ServerThread, portal: Portal,
                           relay_url: str) -> None:
    portal.file(filed(1))
    done = run(tmp_path, "district", "filings", "fetch", "--json", "--db", relay_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert orjson.loads(done.stdout)["sent_down"] == 1
    again = run(tmp_path, "district", "filings", "fetch", "--db", relay_url, lang="vi")
    assert again.returncode == 0 and "1 đã có" in again.stdout


# --- relay → desk → received → forwarded ------------------------------------------------------

def receive(desk: Desk, code: str, decision: Decision = Decision.ACCEPT, **kw: Any) -> str:
    """What the intake screens do with a filing: the service's prefilled request, the
    officer's checklist and fee, then the ordinary submit."""
    start = desk.services.online_filings.start_intake(code)
    request = start.request
    request.checklist = [ChecklistEntry(1, decision == Decision.ACCEPT)]
    request.fee_amount = 5000
    return desk.services.intake.submit(desk.actor, request, decision, **kw).dossier.code


def test_filed_online_fetched_pulled_received_and_forwarded(relay: ServerThread, desk: Desk,
                                                             portal: Portal) -> None:
    portal.file(filed(1), filed(2), filed(3))
    assert fetch(relay.store).sent_down == 3
    pulled = service.run_once(desk.services, options=FAST)
    assert pulled.exit_code == 0 and pulled.pulled == 3, pulled
    waiting = desk.services.online_filings.waiting()
    assert [f.portal_code for f in waiting] == [portal_code(1), portal_code(2), portal_code(3)]
    start = desk.services.online_filings.start_intake(portal_code(1))
    assert (start.procedure_code, start.request.applicant.full_name, start.request.channel,
            start.fields["id_number"]) == (PROCEDURE, "Lê Thị Hồng Nhung", "online_full",
                                           "001190012345")

    ours = receive(desk, portal_code(1))
    asked = receive(desk, portal_code(2), Decision.SUPPLEMENT,
                    missing=[MissingItem("Bản sao giấy khai sinh")])
    refused = receive(desk, portal_code(3), Decision.REFUSE, reason="Không thuộc thẩm quyền xã")
    assert [f.portal_code for f in desk.services.online_filings.waiting()] == []
    detail = desk.services.dossiers.detail(ours).dossier
    assert (detail.portal_code, detail.channel) == (portal_code(1), "online_full")
    with pytest.raises(ValidationError) as taken:             # exactly one dossier per filing
        receive(desk, portal_code(1))
    assert taken.value.key == "core.err.filing_taken"

    push(desk)
    assert forwarder(relay.store).run().exit_code == 0
    desk.act(ours, Action.MARK_READY)
    push(desk)
    assert forwarder(relay.store).run().exit_code == 0

    found = portal.inspect(portal_code(1))
    assert found["status_timeline"] == ["1", "2", "9"]
    assert [s["isUpdating"] for s in found["snapshots"]] == ["Portal", "True", "True"]
    assert [s["TrangThai"] for s in found["steps"]] == ["2", "9"]
    assert found["snapshot"]["NgayHenTra"] == detail.due_at.strftime("%Y%m%d%H%M%S")
    assert portal.inspect(portal_code(2))["status_timeline"] == ["1", "5"]
    assert portal.inspect(portal_code(3))["status_timeline"] == ["1", "3"]
    assert httpx.get(f"{portal.url}/_inspect/{ours}").status_code == 404   # never ours
    stats = portal.stats()
    assert (stats["dossiers"], stats["duplicate_steps"], stats["rejected"]) == (3, 0, 0), stats
    assert {asked, refused} - {ours}


def test_an_offline_desk_keeps_the_list_it_last_pulled(relay: ServerThread, desk: Desk,
                                                        portal: Portal) -> None:
    portal.file(filed(1))
    fetch(relay.store)
    assert service.run_once(desk.services, options=FAST).exit_code == 0
    relay.stop()                                               # the link goes down
    offline = service.run_once(desk.services, options=FAST)
    assert offline.exit_code != 0
    assert [f.portal_code for f in desk.services.online_filings.waiting()] == [portal_code(1)]


def test_the_mapping_sends_a_portal_dossier_under_the_portal_code_as_an_update() -> None:
    from sync.upstream import mapping

    create = {"dossier": {"code": "000.17.22.H56-261206-0001", "status": "received",
                          "procedure_code": PROCEDURE, "applicant_name": "Lê Thị Hồng Nhung",
                          "received_at": "2026-12-06T09:00:00",
                          "accepted_at": "2026-12-06T09:00:00",
                          "due_at": "2026-12-10T09:00:00", "channel": "online_full",
                          "portal_code": portal_code(1)},
              "event": {"action": "accept", "at": "2026-12-06T09:00:00", "officer": "lan",
                        "to_status": "received"}}
    online = mapping.replay("000.17.22.H56-261206-0001", [mapping.Event("m1", create, True)])
    profile = load_profile("dvcqg")
    assert mapping.snapshot(online, profile, UNIT)["MaHoSo"] == portal_code(1)
    assert [s["MaHoSo"] for _m, s in mapping.steps(online, profile)] == [portal_code(1)]
    assert mapping.known_upstream(False, online) is True
    desk = mapping.replay("000.17.22.H56-261206-0002", [mapping.Event("m2", {
        **create, "dossier": {**create["dossier"], "code": "000.17.22.H56-261206-0002",
                              "portal_code": ""}}, True)])
    assert mapping.snapshot(desk, profile, UNIT)["MaHoSo"] == "000.17.22.H56-261206-0002"
    assert mapping.known_upstream(False, desk) is False


# --- a desk with only a USB stick -------------------------------------------------------------

def _usb_round(desk: Desk, store: DistrictStore, usb: Path) -> dict[str, int]:
    """Export at the desk, import at the relay, bring the ack home and apply it."""
    from sync.bundle import export_bundle, import_ack
    from sync.server.bundles import import_bundle

    bundle, *_ = export_bundle(desk.services.db, usb)
    ack = import_bundle(store, bundle.read_bytes())
    return import_ack(desk.services.db, ack, ctx=desk.services.ctx)


def test_a_desk_with_only_a_usb_stick_gets_its_filings_in_the_ack(
        relay: ServerThread, desk: Desk, portal: Portal, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing waits to be sent, yet the bundle carries the desk's pull cursor and the ack
    brings the commune's filings home, a page at a time; the same ack twice adds nothing, and
    a pull over the network afterwards finds nothing new."""
    from sync.server import bundles

    portal.file(filed(1), filed(2), filed(3))
    fetch(relay.store)
    monkeypatch.setattr(bundles, "MAX_ACK_CHANGES", 2)

    first = _usb_round(desk, relay.store, tmp_path / "usb1")
    assert (first["acked"], first["pulled"], first["more_changes"]) == (0, 2, 1)
    second = _usb_round(desk, relay.store, tmp_path / "usb2")
    assert (second["pulled"], second["more_changes"]) == (1, 0)
    assert [f.portal_code for f in desk.services.online_filings.waiting()] == [
        portal_code(1), portal_code(2), portal_code(3)]
    [again] = list((tmp_path / "usb2").iterdir())
    assert again.name.endswith(".ccbundle") and "_changes-" in again.name

    received = receive(desk, portal_code(1))
    third = _usb_round(desk, relay.store, tmp_path / "usb3")   # the intake goes up by USB
    # … and the ack brings back the filing's close (received here: nothing changes).
    assert third["acked"] >= 1 and third["pulled"] == 1
    assert received in {r.code for r in desk.services.search.search(received)}
    assert service.run_once(desk.services, options=FAST).pulled == 0


def test_an_ack_with_a_forged_change_is_refused_whole(relay: ServerThread, desk: Desk,
                                                      portal: Portal, tmp_path: Path) -> None:
    """The changes ride inside the relay's signature: one altered byte and nothing applies."""
    from sync.bundle import BundleError, export_bundle, import_ack
    from sync.server.bundles import import_bundle

    portal.file(filed(1))
    fetch(relay.store)
    bundle, *_ = export_bundle(desk.services.db, tmp_path)
    wrapper = orjson.loads(import_bundle(relay.store, bundle.read_bytes()))
    wrapper["ack"] = wrapper["ack"].replace("Lê Thị Hồng Nhung", "Lê Thị Hồng Nhunh")
    with pytest.raises(BundleError):
        import_ack(desk.services.db, orjson.dumps(wrapper), ctx=desk.services.ctx)
    assert desk.services.online_filings.waiting() == []
