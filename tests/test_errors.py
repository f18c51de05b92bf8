"""The error tree (wxarchive/errors.py): its documented table is the code's, and each error says the right thing
about trying again.

The module's docstring is the table a maintainer and a script writer read (exit status, ``permanent``,
the ``--json`` code); it is parsed here and compared with the classes, so it cannot drift.
"""
from __future__ import annotations

import re

import pytest

from wxarchive import errors
from wxarchive.errors import (ErrorCode, FetchError, IdMismatch, RateLimited, StateDamaged, Truncated, Unavailable,
                              UsageError, WxError)

ROW = re.compile(r"^(?P<indent>[\s│├└─]*)(?P<name>[A-Z]\w+)(?:\(\w+\))?\s+(?P<exit>\d)\s+(?P<perm>yes|no|-)\s+"
                 r"(?P<codes>.*)$")


def table() -> list[dict[str, object]]:
    """Rows of the docstring's tree: name, depth, parent, exit, permanent, codes (continuation lines joined)."""
    rows: list[dict[str, object]] = []
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        m = ROW.match(line)
        if m:
            depth = len(m["indent"])
            while stack and stack[-1][0] >= depth:
                stack.pop()
            rows.append({"name": m["name"], "parent": stack[-1][1] if stack else "WxError", "exit": int(m["exit"]),
                         "perm": m["perm"], "codes": _codes(m["codes"])})
            stack.append((depth, m["name"]))
        elif rows and re.match(r"^[\s│]+[a-z_ |]+$", line) and "|" in line:  # a row's codes, continued
            rows[-1]["codes"] = [*rows[-1]["codes"], *_codes(line.replace("│", ""))]  # type: ignore[misc]
    return rows


def _codes(text: str) -> list[str]:
    text = re.sub(r"\(.*?\)", "", text)
    return [c.strip() for c in text.split("|") if c.strip()]


ROWS = table()


def test_the_table_lists_every_error_class() -> None:
    classes = {n for n in errors.__all__ if isinstance(getattr(errors, n), type)
               and issubclass(getattr(errors, n), WxError)}
    assert {r["name"] for r in ROWS} == classes - {"WxError"}  # the root, above the table's columns


@pytest.mark.parametrize("row", ROWS, ids=[str(r["name"]) for r in ROWS])
def test_each_row_is_what_the_class_does(row: dict) -> None:
    cls = getattr(errors, row["name"])
    assert cls.__mro__[1] is getattr(errors, row["parent"]), f"{cls.__name__} sits under {row['parent']}"
    assert cls.exit_code == row["exit"]
    if row["perm"] != "-":
        assert cls.permanent is (row["perm"] == "yes")
    codes = row["codes"]
    assert codes and all(c in set(ErrorCode) for c in codes), codes
    if cls is not Unavailable:  # its code is the reason it is given (below)
        assert cls.code in codes


def test_every_code_but_the_fallback_has_its_row() -> None:
    listed = {c for r in ROWS for c in r["codes"]}  # type: ignore[attr-defined]
    assert listed == {c.value for c in ErrorCode} - {ErrorCode.ERROR.value}


@pytest.mark.parametrize("status,permanent", [(404, True), (410, True), (403, False), (500, False), (502, False),
                                              (None, False)])
def test_only_a_page_that_is_not_there_is_worth_no_retry(status: int | None, permanent: bool) -> None:
    e = FetchError("x", status=status)
    assert e.permanent is permanent
    assert e.code == (ErrorCode.NETWORK if status is None else ErrorCode.HTTP)


def test_a_cut_or_foreign_answer_is_always_worth_another_try() -> None:
    """Truncated and IdMismatch are fetch errors: a later run fetches again, whatever status came with them."""
    for cls, code in ((Truncated, ErrorCode.TRUNCATED), (IdMismatch, ErrorCode.MISMATCH)):
        e = cls("x")
        assert isinstance(e, FetchError) and not e.permanent and e.code == code


@pytest.mark.parametrize("reason,permanent", [
    ("deleted", True), ("removed", True), ("expired", True), ("account_closed", True), ("invalid", True),
    ("unavailable", False), ("migrated", False),
])
def test_gone_is_for_good_but_an_outage_or_a_move_may_pass(reason: str, permanent: bool) -> None:
    e = Unavailable(reason, "WeChat says so", target="https://mp.weixin.qq.com/s/new" if reason == "migrated" else "")
    assert e.code == reason and e.permanent is permanent
    assert e.code in set(ErrorCode)


def test_verification_stops_the_run_with_its_own_exit_status() -> None:
    e = RateLimited("verify", retry_after=60)
    assert e.exit_code == 3 and not e.permanent and e.retry_after == 60
    assert UsageError("bad flag").exit_code == 2


def test_a_damaged_state_names_its_file_and_the_way_back() -> None:
    e = StateDamaged("/a/.wxarchive/state.sqlite3", "file is not a database")
    assert e.code == ErrorCode.IO and not e.permanent
    assert "/a/.wxarchive/state.sqlite3" in e.message and "file is not a database" in e.message
    assert "posts in _posts/ are intact" in e.message and "wxarchive rebuild --from-posts" in e.message


def test_a_code_compares_equal_to_its_plain_name() -> None:
    """Codes read back from the state or a JSON line are strings: they must match the members."""
    assert ErrorCode("verify") is ErrorCode.VERIFY and ErrorCode.VERIFY == "verify"
    assert WxError.code == ErrorCode.ERROR and WxError("boom", url="u").message == "boom"
