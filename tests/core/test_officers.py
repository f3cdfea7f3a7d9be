from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from ccdesk.domain.errors import PermissionDenied, ValidationError
from ccdesk.services import SYSTEM, Services
from ccdesk.services.officers import MAX_ATTEMPTS, lock_delay


def test_pins_are_stored_as_argon2_hashes(desk: Services) -> None:
    with sqlite3.connect(desk.db.path) as con:
        hashes = [h for (h,) in con.execute("SELECT pin_hash FROM officer")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any("1234" in h or "5678" in h for h in hashes)


def test_wrong_pins_lock_the_account_with_a_growing_wait(desk: Services, clock) -> None:
    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(PermissionDenied) as info:
            desk.officers.authenticate("lan", "0000")
        assert info.value.key == "core.err.bad_pin"
        assert info.value.params["left"] == MAX_ATTEMPTS - attempt
    with pytest.raises(PermissionDenied):
        desk.officers.authenticate("lan", "0000")      # the 5th failure starts a wait
    with pytest.raises(PermissionDenied) as info:
        desk.officers.authenticate("lan", "1234")      # even the right PIN waits
    assert info.value.key == "core.err.officer_locked"
    clock.advance(seconds=31)
    assert desk.officers.authenticate("lan", "1234").username == "lan"
    assert lock_delay(MAX_ATTEMPTS + 1) == 2 * lock_delay(MAX_ATTEMPTS) > timedelta(0)
    assert lock_delay(100) == timedelta(hours=1)


def test_only_it_manages_officers_after_the_first(desk: Services) -> None:
    officer = desk.officers.authenticate("lan", "1234")
    with pytest.raises(PermissionDenied):
        desk.officers.add(officer, "x", "Người Mới", "officer", "1111")
    desk.officers.set_active(SYSTEM, "lan", False)
    with pytest.raises(PermissionDenied) as info:
        desk.officers.authenticate("lan", "1234")
    assert info.value.key == "core.err.officer_disabled"
    with pytest.raises(ValidationError):
        desk.officers.add(SYSTEM, "lan", "Trùng Tên", "officer", "1111")
    with pytest.raises(ValidationError):
        desk.officers.add(SYSTEM, "moi", "Người Mới", "boss", "1111")
