"""Failed sign-ins counted per user name and per address (Flask-Limiter, memory storage)."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from dashapp.web.throttle import SignInThrottle, TooManyAttempts, storage_uri

USERS = {
    "carol": generate_password_hash("right-horse", method="pbkdf2:sha256:1000"),
    "dave": generate_password_hash("other-pass", method="pbkdf2:sha256:1000"),
}


def attempt(throttle: SignInThrottle, server: Flask, name: str, pw: str, addr: str) -> bool:
    """One sign-in attempt from ``addr``."""
    with server.test_request_context(environ_base={"REMOTE_ADDR": addr}):
        return throttle.check(USERS, name, pw)


def test_th001_a_name_that_failed_too_often_waits_and_others_do_not() -> None:
    server = Flask("th001")
    throttle = SignInThrottle(server, attempts=3, storage=storage_uri(""))
    for _ in range(3):
        assert not attempt(throttle, server, "carol", "guess", "192.0.2.1")
    with pytest.raises(TooManyAttempts) as refused:
        attempt(throttle, server, "carol", "right-horse", "192.0.2.2")  # even the right one
    assert refused.value.message == "Too many sign-in attempts; try again in 15 minutes."
    assert 14 * 60 < refused.value.wait_s <= 15 * 60
    # Someone else, from the same address, is not affected; success costs nothing.
    for _ in range(5):
        assert attempt(throttle, server, "dave", "other-pass", "192.0.2.1")


def test_th002_one_address_trying_many_names_is_stopped_too() -> None:
    server = Flask("th002")
    throttle = SignInThrottle(server, attempts=2, storage="memory://")
    for n in range(10):  # 5 times the per-name limit
        assert not attempt(throttle, server, f"user{n}", "guess", "198.51.100.9")
    with pytest.raises(TooManyAttempts):
        attempt(throttle, server, "dave", "other-pass", "198.51.100.9")
    assert attempt(throttle, server, "dave", "other-pass", "198.51.100.10")


def test_th003_one_minute_left_reads_as_one_minute() -> None:
    assert TooManyAttempts(30).message == "Too many sign-in attempts; try again in 1 minute."
    assert TooManyAttempts(61).message == "Too many sign-in attempts; try again in 2 minutes."
