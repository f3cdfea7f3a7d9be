"""The igate bearer token against the double's token endpoint (in-process): bought with the
client credentials, kept until shortly before its ``expires_in``, never part of an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.upstream.igate import Token
from sync.upstream.profiles import load_profile
from sync.upstream.transport import AuthRefused, Credentials
from tests.sync.upstream.double_fixtures import PASSWORD, UNIT, USER, Client, config


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def token(tmp_path: Path, secret: str = PASSWORD, lifetime: float = 100.0,
          **settings: object) -> tuple[Token, Clock, Client]:
    double = Client(tmp_path / "double.sqlite3",
                    config(profile="igate", session_lifetime_s=lifetime))
    clock = Clock()
    creds = Credentials("http://double", UNIT, USER, secret)
    return Token(load_profile("igate", "2023", settings), creds, double.http, clock), clock, \
        double


def test_kept_until_shortly_before_it_expires(tmp_path: Path) -> None:
    # expires_in 100 s, margin 60 s but at most half the lifetime: renewed after 50 s.
    tok, clock, double = token(tmp_path)
    first = tok.value()
    clock.now = 49.0
    assert tok.value() == first and tok.bought == 1
    clock.now = 50.0
    assert tok.value() != first and tok.bought == 2
    assert double.stats()["igate"]["tokens_issued"] == 2


def test_the_margin_is_a_setting(tmp_path: Path) -> None:
    tok, clock, _double = token(tmp_path, lifetime=3600.0, token_margin_s=600)
    first = tok.value()
    clock.now = 2999.0
    assert tok.value() == first
    clock.now = 3000.0
    assert tok.value() != first


def test_a_dropped_token_is_bought_again(tmp_path: Path) -> None:
    tok, _clock, _double = token(tmp_path)
    first = tok.value()
    tok.drop()                     # what a 401 does
    assert tok.value() != first and tok.bought == 2


def test_a_wrong_secret_is_refused_without_saying_it(tmp_path: Path) -> None:
    tok, _clock, _double = token(tmp_path, secret="sai-khoa-bi-mat")
    with pytest.raises(AuthRefused) as refused:
        tok.value()
    assert "invalid_client" in str(refused.value)
    assert "sai-khoa-bi-mat" not in str(refused.value) and USER not in str(refused.value)
