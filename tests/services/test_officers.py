from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from ccdesk.domain.errors import PermissionDenied, ValidationError
from ccdesk.services import SYSTEM, Services
from ccdesk.services.officers import MAX_ATTEMPTS, lock_delay
from ccdesk.services.pins import (
    ARGON2,
    MIN_PIN_BY_ROLE,
    PEPPERED,
    _peppered,
    needs_rehash,
    verify_pin,
)
from ccdesk.storage.deskkey import registered_key
from tests.conftest import set_up_desk


def test_pins_are_stored_as_peppered_argon2_hashes(production_argon2: None,
                                                   services: Services) -> None:
    set_up_desk(services)   # the officers added here, at the desk's own costs
    with sqlite3.connect(services.db.path) as con:
        hashes = [h for (h,) in con.execute("SELECT pin_hash FROM officer")]
    assert all(h.startswith("p1$argon2id$") for h in hashes)
    assert all(f"m={ARGON2['memory_cost']},t={ARGON2['time_cost']}," in h for h in hashes)
    assert not any("1234" in h or "5678" in h for h in hashes)


def test_the_database_alone_cannot_check_a_pin(desk: Services) -> None:
    """What a stolen backup gives: the hash without the key file matches no PIN, not even the
    right one (the pepper is the key file's, never in the database)."""
    with sqlite3.connect(desk.db.path) as con:
        stored = con.execute("SELECT pin_hash FROM officer WHERE username = 'lan'").fetchone()[0]
    assert not verify_pin(stored, "1234", None)
    assert not verify_pin(stored, "1234", b"k" * 32)  # another desk's key
    assert verify_pin(stored, "1234", registered_key(str(desk.db.path)))


def test_a_hash_from_before_the_pepper_verifies_once_and_is_rehashed(desk: Services) -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher().hash("1234")  # what main stored: plain argon2id, default costs
    with sqlite3.connect(desk.db.path) as con:
        con.execute("DROP TRIGGER IF EXISTS officer_no_update")
        con.execute("UPDATE officer SET pin_hash = ? WHERE username = 'lan'", (old,))
    assert desk.officers.authenticate("lan", "1234").username == "lan"
    with sqlite3.connect(desk.db.path) as con:
        new = con.execute("SELECT pin_hash FROM officer WHERE username = 'lan'").fetchone()[0]
    assert new != old and new.startswith("p1$argon2id$")
    assert desk.officers.authenticate("lan", "1234").username == "lan"


def _stored_hash(desk: Services, username: str) -> str:
    with sqlite3.connect(desk.db.path) as con:
        return con.execute("SELECT pin_hash FROM officer WHERE username = ?",
                           (username,)).fetchone()[0]


def _store_hash(desk: Services, username: str, pin_hash: str) -> None:
    with sqlite3.connect(desk.db.path) as con:
        con.execute("DROP TRIGGER IF EXISTS officer_no_update")
        con.execute("UPDATE officer SET pin_hash = ? WHERE username = ?", (pin_hash, username))


@pytest.mark.parametrize("older", [
    {"time_cost": 3, "memory_cost": 65_536, "parallelism": 4},   # argon2-cffi's memory
    {"time_cost": 3, "memory_cost": ARGON2["memory_cost"], "parallelism": 1},  # one lane
])
def test_a_hash_at_older_costs_verifies_once_and_is_rehashed_at_todays(
        production_argon2: None, desk: Services, older: dict[str, int]) -> None:
    """Costs change (docs/operations.md, "PIN policy"): a PIN hashed at the old ones still
    opens the desk, and that login stores it again at today's, peppered as before."""
    from argon2 import PasswordHasher, extract_parameters
    from argon2.low_level import Type

    key = registered_key(str(desk.db.path))
    assert key is not None
    old = PEPPERED + PasswordHasher(**older).hash(_peppered("1234", key))
    _store_hash(desk, "lan", old)
    assert needs_rehash(old, key)
    with pytest.raises(PermissionDenied):  # a wrong PIN replaces nothing
        desk.officers.authenticate("lan", "9999")
    assert _stored_hash(desk, "lan") == old
    assert desk.officers.authenticate("lan", "1234").username == "lan"
    new = _stored_hash(desk, "lan")
    assert new != old and new.startswith(PEPPERED + "$argon2id$")
    found = extract_parameters(new.removeprefix(PEPPERED))
    assert (found.type, found.time_cost, found.memory_cost, found.parallelism) == (
        Type.ID, ARGON2["time_cost"], ARGON2["memory_cost"], ARGON2["parallelism"])
    assert not needs_rehash(new, key)
    assert desk.officers.authenticate("lan", "1234").username == "lan"
    assert _stored_hash(desk, "lan") == new  # at today's costs: left as it is


@pytest.mark.parametrize(("role", "short", "enough"), [
    ("it", "1234567", "12345678"), ("lead", "1234567", "12345678"),
    ("officer", "123", "1234"), ("trainer", "123", "1234")])
def test_it_and_lead_pins_are_at_least_eight_characters(desk: Services, role: str, short: str,
                                                        enough: str) -> None:
    with pytest.raises(ValidationError) as info:
        desk.officers.add(SYSTEM, f"new{role}", "Người Mới", role, short)
    assert info.value.key == "core.err.pin_length"
    assert info.value.params["low"] == MIN_PIN_BY_ROLE[role]
    desk.officers.add(SYSTEM, f"new{role}", "Người Mới", role, enough)
    with pytest.raises(ValidationError):
        desk.officers.reset_pin(SYSTEM, f"new{role}", short)


def test_a_missing_or_foreign_key_file_is_named_not_taken_for_a_wrong_pin(
        desk: Services, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from ccdesk.domain.errors import StorageError

    paths = desk.paths
    desk.close()
    monkeypatch.setenv("CCDESK_KEY_FILE", str(tmp_path / "elsewhere" / "desk.key"))
    with pytest.raises(StorageError) as info:
        Services.open(paths.default_db, paths)
    assert info.value.key == "reliability.security.key_missing"
    assert str(tmp_path / "elsewhere" / "desk.key") in info.value.message("en")
    assert not (tmp_path / "elsewhere" / "desk.key").exists()  # never replaced by a new key
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "desk.key").write_bytes(b"x" * 32)
    with pytest.raises(StorageError) as info:
        Services.open(paths.default_db, paths)
    assert info.value.key == "reliability.security.key_wrong"


def test_a_new_desk_creates_its_key_file_owner_only(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import stat

    from ccdesk.paths import Paths

    monkeypatch.delenv("CCDESK_KEY_FILE", raising=False)
    paths = Paths(data_dir=tmp_path / "data", config_dir=tmp_path / "config")
    Services.open(paths.default_db, paths).close()
    assert paths.key_file == tmp_path / "config" / "desk.key"
    assert stat.S_IMODE(paths.key_file.stat().st_mode) == 0o600
    assert len(paths.key_file.read_bytes()) == 32


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
