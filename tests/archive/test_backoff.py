"""The archive-wide pause after a verification page (wxarchive.archive.backoff), on a real state file.

The clock is the test's: each decision (how long, until when, when to forget) is read from the record
the state keeps, so runs months apart agree.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wxarchive.archive.backoff import BACKOFF_BASE, BACKOFF_CAP, Backoff
from wxarchive.archive.store import StateKey, Store
from wxarchive.errors import RateLimited


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "state.sqlite3") as st:
        yield st


def test_each_block_doubles_the_pause_from_15_minutes_up_to_6_hours(store: Store) -> None:
    clock = Clock()
    b = Backoff(store, clock)
    delays = [b.hit(RateLimited("verify"))["delay"] for _ in range(8)]
    assert BACKOFF_BASE == 15 * 60 and BACKOFF_CAP == 6 * 3600
    assert delays == [900, 1800, 3600, 7200, 14400, 21600, 21600, 21600]


def test_the_pause_is_kept_in_the_state_for_the_next_run(tmp_path: Path) -> None:
    clock = Clock()
    with Store(tmp_path / "state.sqlite3") as st:
        Backoff(st, clock).hit(RateLimited("请在微信客户端打开链接"))
    clock.now += 60
    with Store(tmp_path / "state.sqlite3") as st:
        rec = Backoff(st, clock).in_force()
    assert rec is not None and rec["until"] == 1_700_000_000.0 + 900
    assert rec["reason"] == "请在微信客户端打开链接" and rec["level"] == 0 and rec["until_text"]


def test_in_force_only_until_its_time(store: Store) -> None:
    clock = Clock()
    b = Backoff(store, clock)
    assert b.in_force() is None
    b.hit(RateLimited("verify"))
    clock.now += BACKOFF_BASE - 1
    assert b.in_force() is not None
    clock.now += 1
    assert b.in_force() is None
    assert b.current() is not None  # over, but remembered: the next block waits longer


def test_a_run_served_to_the_end_starts_again_from_15_minutes(store: Store) -> None:
    b = Backoff(store, Clock())
    b.hit(RateLimited("verify"))
    b.hit(RateLimited("verify"))
    b.clear()
    assert b.current() is None
    assert b.hit(RateLimited("verify"))["delay"] == BACKOFF_BASE


def test_retry_after_lengthens_the_pause_but_never_past_the_cap(store: Store) -> None:
    b = Backoff(store, Clock())
    assert b.hit(RateLimited("slow down", retry_after=5000))["delay"] == 5000
    b.clear()
    assert b.hit(RateLimited("slow down", retry_after=10))["delay"] == BACKOFF_BASE  # shorter: ours wins
    b.clear()
    assert b.hit(RateLimited("slow down", retry_after=1e12))["delay"] == BACKOFF_CAP


def test_a_long_reason_is_kept_short(store: Store) -> None:
    assert len(Backoff(store, Clock()).hit(RateLimited("x" * 5000))["reason"]) == 300


@pytest.mark.parametrize("value", [
    {"until": "abc", "level": 0, "delay": 900},
    {"until": float("inf"), "level": 0, "delay": 900},
    {"until": 1e18, "level": 10_000, "delay": 900},
    {"until": 1e18, "level": 0, "delay": "nan"},
    "not a record",
    [1, 2, 3],
])
def test_a_record_this_code_did_not_write_is_ignored_not_obeyed(store: Store, value: object,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """A foreign or hand-edited state never blocks every run for ever, nor crashes one."""
    store.set_kv(StateKey.BACKOFF, value)
    b = Backoff(store, Clock())
    with caplog.at_level(logging.WARNING):  # (the root's level: a CLI run in this process may have raised it)
        assert b.in_force() is None
    assert "not readable" in caplog.text
    assert b.hit(RateLimited("verify"))["level"] == 0  # starts afresh, and writes a sound record
    assert b.current() is not None
