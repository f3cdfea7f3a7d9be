"""Profiles are configuration: defaults per name and version, overrides checked."""

from __future__ import annotations

import pytest

from sync.upstream.profiles import ProfileError, load_profile


def test_defaults_of_the_agreed_wire() -> None:
    dvcqg = load_profile("dvcqg")
    assert (dvcqg.auth_path, dvcqg.integration_path) == ("/auth", "/integration")
    assert dvcqg.steps_batch == 10 and "0" in dvcqg.success_codes
    assert dvcqg.session_expired_codes == ("401",) and dvcqg.has_session
    facade = load_profile("facade")
    assert (facade.create_path, facade.update_path, facade.progress_path) == (
        "/hoso/tao", "/hoso/capnhat", "/hoso/tiendo")
    assert not facade.has_session and facade.lookup_service == ""


def test_overrides_replace_and_merge() -> None:
    p = load_profile("dvcqg", "2023", {"integration_path": "/api/v2", "steps_batch": 5,
                                       "success_codes": ["0", "200"],
                                       "max_lengths": {"NguoiXuLy": 30}})
    assert p.integration_path == "/api/v2" and p.steps_batch == 5
    assert p.success_codes == ("0", "200")
    assert p.max_lengths["NguoiXuLy"] == 30 and p.max_lengths["TrichYeuHoSo"] == 1000


@pytest.mark.parametrize(("name", "version", "over", "message"), [
    ("lgsp", "2023", {}, "unknown profile"),
    ("igate", "2023", {"lookup_path": ""}, "lookup_path is required"),
    ("dvcqg", "2030", {}, "unknown profile"),
    ("dvcqg", "2023", {"nope": 1}, "unknown upstream setting"),
    ("dvcqg", "2023", {"steps_batch": "10"}, "must be a number"),
    ("dvcqg", "2023", {"steps_batch": 0}, "batch sizes"),
    ("dvcqg", "2023", {"key_case": "snake"}, "key_case"),
    ("dvcqg", "2023", {"fields_2023": "yes"}, "true or false"),
])
def test_bad_settings_are_named(name: str, version: str, over: dict, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(name, version, over)


def test_igate_defaults_are_settings_not_code() -> None:
    igate = load_profile("igate", "2023", {"token_url": "https://sso.example.gov.vn/token",
                                           "reference_key": "maThamChieu",
                                           "upload_max_bytes": 1000})
    assert (igate.name, igate.token_url, igate.reference_key) == (
        "igate", "https://sso.example.gov.vn/token", "maThamChieu")
    assert igate.upload_max_bytes == 1000 and igate.lookup_path and igate.upload_path
    # Scans go as bytes: no URL in the file list, no monthly aggregate, no filings list.
    assert igate.file_fields["url"] == "" and not igate.rating_service
    assert not igate.filings_service and not igate.has_session
    assert not load_profile("igate", "2020").fields_2023
    # The other profiles upload nothing (their files go by URL).
    assert load_profile("dvcqg").upload_path == load_profile("facade").upload_path == ""
