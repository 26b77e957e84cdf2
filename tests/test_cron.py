"""kpkilite.cron: tables of schedules with the times robfig/cron v3.0.1 gives, errors, zones, CLI.

Expected times are robfig's (the Kubernetes CronJob controller's), as recorded in the shared
conformance cases; the quirks robfig accepts are accepted here the same way.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import subprocess
import sys
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, List, Optional
from zoneinfo import ZoneInfo

import pytest

from kpkilite.cron import (
    iter_fire_times,
    next_fire_time,
    parse_schedule,
    validate_time_zone,
)
from kpkilite.errors import ScheduleError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_CASES = os.path.join(ROOT, "..", "shared", "conformance", "cron.json")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _same(got: List[datetime], want: List[str]) -> bool:
    """Same instants and same UTC offsets (== between zones ignores fold, PEP 495)."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        wd = _dt(w)
        if g.astimezone(timezone.utc) != wd.astimezone(timezone.utc):
            return False
        if g.utcoffset() != wd.utcoffset():
            return False
    return True


def _take(
    expr: str, start: str, tz: Optional[str], n: int, reverse: bool = False
) -> List[datetime]:
    return list(itertools.islice(iter_fire_times(expr, _dt(start), tz=tz, reverse=reverse), n))


# (id, expr, tz, start, next times) -- "exhausted" cases list every time before the 5-year
# search gives up; the iterator must end right there.
NEXT_CASES = [
    ("every-minute", "* * * * *", "UTC", "2024-01-01T00:00:00+00:00",
     ["2024-01-01T00:01:00+00:00", "2024-01-01T00:02:00+00:00"]),
    ("step5", "*/5 * * * *", "UTC", "2024-01-01T10:02:00+00:00",
     ["2024-01-01T10:05:00+00:00", "2024-01-01T10:10:00+00:00"]),
    ("n-slash-step-runs-to-max", "5/15 * * * *", "UTC", "2024-01-01T10:00:00+00:00",
     ["2024-01-01T10:05:00+00:00", "2024-01-01T10:20:00+00:00", "2024-01-01T10:35:00+00:00",
      "2024-01-01T10:50:00+00:00", "2024-01-01T11:05:00+00:00"]),
    ("range-step", "3-59/15 * * * *", "UTC", "2024-01-01T10:00:00+00:00",
     ["2024-01-01T10:03:00+00:00", "2024-01-01T10:18:00+00:00"]),
    ("month-name-step", "0 0 1 JAN/3 *", "UTC", "2024-02-15T00:00:00+00:00",
     ["2024-04-01T00:00:00+00:00", "2024-07-01T00:00:00+00:00"]),
    ("dow-name-step-no-sunday", "0 0 * * MON/2", "UTC", "2024-01-01T12:00:00+00:00",
     ["2024-01-03T00:00:00+00:00", "2024-01-05T00:00:00+00:00", "2024-01-08T00:00:00+00:00"]),
    ("names-any-case", "0 9 * * Mon,wed,FRI", "UTC", "2024-01-05T10:00:00+00:00",
     ["2024-01-08T09:00:00+00:00", "2024-01-10T09:00:00+00:00", "2024-01-12T09:00:00+00:00"]),
    ("question-everywhere", "? ? ? ? ?", "UTC", "2024-01-01T00:00:00+00:00",
     ["2024-01-01T00:01:00+00:00"]),
    ("step-60-is-hourly", "*/60 * * * *", "UTC", "2024-01-01T10:30:00+00:00",
     ["2024-01-01T11:00:00+00:00", "2024-01-01T12:00:00+00:00"]),
    ("hour-step-25-is-midnight", "0 */25 * * *", "UTC", "2024-01-01T10:30:00+00:00",
     ["2024-01-02T00:00:00+00:00"]),
    ("equal-range-is-one-value", "5-5 * * * *", "UTC", "2024-01-01T10:00:00+00:00",
     ["2024-01-01T10:05:00+00:00", "2024-01-01T11:05:00+00:00"]),
    ("sun-sun", "0 0 * * SUN-SUN", "UTC", "2024-01-01T12:00:00+00:00",
     ["2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00"]),
    ("whitespace-any-run", " 0\t9  * *   * ", "UTC", "2024-01-01T10:00:00+00:00",
     ["2024-01-02T09:00:00+00:00"]),
    ("empty-list-items-dropped", "1,,2 * * * *", "UTC", "2024-01-01T10:00:00+00:00",
     ["2024-01-01T10:01:00+00:00", "2024-01-01T10:02:00+00:00", "2024-01-01T11:01:00+00:00"]),
    ("atoi-plus-sign", "+5 * * * *", "UTC", "2024-01-01T10:00:00+00:00",
     ["2024-01-01T10:05:00+00:00"]),
    ("star-dash-anything-is-star", "*-5 0 1 1 *", "UTC", "2024-01-01T00:00:00+00:00",
     ["2024-01-01T00:01:00+00:00", "2024-01-01T00:02:00+00:00"]),
    ("go-tolower-dotted-capital-i", "0 0 * * FR\u0130", "UTC", "2024-01-01T00:00:00+00:00",
     ["2024-01-05T00:00:00+00:00"]),
    ("ideographic-space-separates", "0\u30000 * * *", "UTC", "2024-01-01T00:30:00+00:00",
     ["2024-01-02T00:00:00+00:00"]),
    # day of month / day of week: robfig's star bit
    ("or-both-restricted", "0 0 1 * 1", "UTC", "2024-01-02T00:00:00+00:00",
     ["2024-01-08T00:00:00+00:00", "2024-01-15T00:00:00+00:00", "2024-01-22T00:00:00+00:00",
      "2024-01-29T00:00:00+00:00", "2024-02-01T00:00:00+00:00"]),
    ("star-step-1-keeps-star", "0 0 */1 * 1", "UTC", "2024-03-09T03:00:00+00:00",
     ["2024-03-11T00:00:00+00:00", "2024-03-18T00:00:00+00:00"]),
    ("full-range-is-not-a-star", "0 0 1-31 * 1", "UTC", "2024-03-09T03:00:00+00:00",
     ["2024-03-10T00:00:00+00:00", "2024-03-11T00:00:00+00:00"]),
    ("star-step-2-clears-star", "0 0 */2 * */2", "UTC", "2024-03-09T03:00:00+00:00",
     ["2024-03-10T00:00:00+00:00", "2024-03-11T00:00:00+00:00", "2024-03-12T00:00:00+00:00"]),
    ("star-in-list-sets-star", "0 0 *,1 * 1", "UTC", "2024-03-09T03:00:00+00:00",
     ["2024-03-11T00:00:00+00:00", "2024-03-18T00:00:00+00:00"]),
    ("question-dom-and", "0 0 ? * 5", "UTC", "2024-03-09T03:00:00+00:00",
     ["2024-03-15T00:00:00+00:00", "2024-03-22T00:00:00+00:00"]),
    ("feb29-or-monday", "0 0 29 2 1", "UTC", "2024-02-01T00:00:00+00:00",
     ["2024-02-05T00:00:00+00:00", "2024-02-12T00:00:00+00:00", "2024-02-19T00:00:00+00:00",
      "2024-02-26T00:00:00+00:00", "2024-02-29T00:00:00+00:00"]),
    # descriptors
    ("yearly", "@yearly", "UTC", "2024-06-15T12:00:00+00:00",
     ["2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"]),
    ("weekly-is-sunday", "@weekly", "UTC", "2024-01-01T00:00:00+00:00",
     ["2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00"]),
    ("hourly", "@hourly", "UTC", "2024-01-01T00:00:00+00:00", ["2024-01-01T01:00:00+00:00"]),
    ("every-absolute-across-dst", "@every 90m", "America/New_York", "2024-11-03T00:00:00-04:00",
     ["2024-11-03T01:30:00-04:00", "2024-11-03T02:00:00-05:00", "2024-11-03T03:30:00-05:00"]),
    ("every-truncates-to-seconds", "@every 1500ms", "UTC", "2024-01-01T00:00:00+00:00",
     ["2024-01-01T00:00:01+00:00", "2024-01-01T00:00:02+00:00"]),
    ("every-negative-is-1s", "@every -1h", "UTC", "2024-01-01T00:00:00+00:00",
     ["2024-01-01T00:00:01+00:00", "2024-01-01T00:00:02+00:00"]),
    ("every-drops-start-fraction", "@every 1h30m10s", "UTC", "2024-01-01T00:00:00.700000+00:00",
     ["2024-01-01T01:30:10+00:00", "2024-01-01T03:00:20+00:00"]),
    # start handling: strictly after, sub-second rounding, converted into tz first
    ("start-fraction", "* * * * *", "UTC", "2024-01-01T00:00:59.999999+00:00",
     ["2024-01-01T00:01:00+00:00"]),
    ("start-converted-to-zone", "0 0 1 1 *", "Asia/Tokyo", "2024-12-31T15:30:00+00:00",
     ["2026-01-01T00:00:00+09:00"]),
    ("year-rollover", "59 23 31 12 *", "UTC", "2024-12-31T23:58:00+00:00",
     ["2024-12-31T23:59:00+00:00", "2025-12-31T23:59:00+00:00"]),
    ("etc-gmt-plus5-is-utc-minus5", "0 9 * * *", "Etc/GMT+5", "2024-01-01T00:00:00+00:00",
     ["2024-01-01T09:00:00-05:00"]),
    # DST: wall-clock matching on absolute instants
    ("ny-spring-gap-skipped", "15,45 2 * * *", "America/New_York", "2024-03-09T03:00:00-05:00",
     ["2024-03-11T02:15:00-04:00", "2024-03-11T02:45:00-04:00"]),
    ("ny-spring-every30", "*/30 * * * *", "America/New_York", "2024-03-10T00:45:00-05:00",
     ["2024-03-10T01:00:00-05:00", "2024-03-10T01:30:00-05:00", "2024-03-10T03:00:00-04:00"]),
    ("ny-fall-twice", "*/30 * * * *", "America/New_York", "2024-11-03T00:45:00-04:00",
     ["2024-11-03T01:00:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-05:00",
      "2024-11-03T01:30:00-05:00", "2024-11-03T02:00:00-05:00"]),
    ("ny-fall-start-between", "30 1 * * *", "America/New_York", "2024-11-03T01:45:00-04:00",
     ["2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"]),
    ("ny-fall-start-on-second", "30 1 * * *", "America/New_York", "2024-11-03T01:30:00-05:00",
     ["2024-11-04T01:30:00-05:00"]),
    ("berlin-spring-gap", "*/15 1-3 * * *", "Europe/Berlin", "2024-03-31T01:30:00+01:00",
     ["2024-03-31T01:45:00+01:00", "2024-03-31T03:00:00+02:00", "2024-03-31T03:15:00+02:00"]),
    ("berlin-fall-hours", "0 2-3 * * *", "Europe/Berlin", "2024-10-27T00:00:00+02:00",
     ["2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00", "2024-10-27T03:00:00+01:00",
      "2024-10-28T02:00:00+01:00"]),
    ("lord-howe-half-hour-gap", "0 2 * * *", "Australia/Lord_Howe", "2024-10-05T12:00:00+10:30",
     ["2024-10-07T02:00:00+11:00"]),
    ("lord-howe-after-gap", "45 2 * * *", "Australia/Lord_Howe", "2024-10-05T12:00:00+10:30",
     ["2024-10-06T02:45:00+11:00"]),
    ("lord-howe-half-hour-repeat", "45 1 * * *", "Australia/Lord_Howe",
     "2024-04-06T12:00:00+11:00",
     ["2024-04-07T01:45:00+11:00", "2024-04-07T01:45:00+10:30", "2024-04-08T01:45:00+10:30"]),
    ("santiago-no-midnight", "0 0 * * *", "America/Santiago", "2024-09-07T12:00:00-04:00",
     ["2024-09-09T00:00:00-03:00", "2024-09-10T00:00:00-03:00"]),
    ("santiago-1am-on-day-without-midnight", "30 1 8 9 *", "America/Santiago",
     "2024-09-07T12:00:00-04:00", ["2024-09-08T01:30:00-03:00"]),
    # the 5-year search limit: these end
    ("never-empty-dom-list", "0 0 , * *", "UTC", "2024-01-01T00:00:00+00:00", []),
    ("never-feb30", "0 0 30 2 *", "UTC", "2024-01-01T00:00:00+00:00", []),
    ("never-31st-short-months", "0 0 31 2,4,6,9,11 *", "UTC", "2024-01-01T00:00:00+00:00", []),
    ("feb29-beyond-5-years", "0 0 29 2 *", "UTC", "2096-03-01T00:00:00+00:00", []),
    ("feb29-then-limit", "0 0 29 2 *", "UTC", "2095-03-01T00:00:00+00:00",
     ["2096-02-29T00:00:00+00:00"]),
]  # fmt: skip

EXHAUSTED = {
    "never-empty-dom-list", "never-feb30", "never-31st-short-months", "feb29-beyond-5-years",
    "feb29-then-limit",
}  # fmt: skip


@pytest.mark.parametrize("case_id,expr,tz,start,want", NEXT_CASES, ids=[c[0] for c in NEXT_CASES])
def test_next_times(case_id: str, expr: str, tz: str, start: str, want: List[str]) -> None:
    n = len(want) + (1 if case_id in EXHAUSTED else 0)
    got = _take(expr, start, tz, n)
    assert _same(got, want), [g.isoformat() for g in got]


# (id, expr, tz, start, previous times, newest first)
PREV_CASES = [
    ("monthly", "@monthly", "UTC", "2024-01-31T10:00:00+00:00",
     ["2024-01-01T00:00:00+00:00", "2023-12-01T00:00:00+00:00"]),
    ("every-minute", "* * * * *", "UTC", "2024-01-01T00:00:00+00:00",
     ["2023-12-31T23:59:00+00:00", "2023-12-31T23:58:00+00:00"]),
    ("start-fraction", "* * * * *", "UTC", "2024-01-01T00:00:00.5+00:00",
     ["2024-01-01T00:00:00+00:00", "2023-12-31T23:59:00+00:00"]),
    ("or-basic", "0 0 1 * 1", "UTC", "2024-01-02T00:00:00+00:00",
     ["2024-01-01T00:00:00+00:00", "2023-12-25T00:00:00+00:00", "2023-12-18T00:00:00+00:00"]),
    ("ny-fall-both-hours", "*/30 * * * *", "America/New_York", "2024-11-03T02:10:00-05:00",
     ["2024-11-03T02:00:00-05:00", "2024-11-03T01:30:00-05:00", "2024-11-03T01:00:00-05:00",
      "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-04:00"]),
    ("berlin-fall", "30 2 * * *", "Europe/Berlin", "2024-10-28T00:00:00+01:00",
     ["2024-10-27T02:30:00+01:00", "2024-10-27T02:30:00+02:00", "2024-10-26T02:30:00+02:00"]),
    ("feb29", "0 0 29 2 *", "UTC", "2096-03-01T00:00:00+00:00",
     ["2096-02-29T00:00:00+00:00", "2092-02-29T00:00:00+00:00"]),
    ("never", "0 0 30 2 *", "UTC", "2024-01-01T00:00:00+00:00", []),
]  # fmt: skip


@pytest.mark.parametrize("case_id,expr,tz,start,want", PREV_CASES, ids=[c[0] for c in PREV_CASES])
def test_previous_times(case_id: str, expr: str, tz: str, start: str, want: List[str]) -> None:
    got = _take(expr, start, tz, len(want) + 1, reverse=True)
    if case_id == "never":
        assert got == []
    else:
        assert _same(got[: len(want)], want), [g.isoformat() for g in got]


# (expr, exact message)
ERROR_CASES = [
    ("", "schedule is empty"),
    ("   ", "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 0"),
    ("0 0 * *", "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 4"),
    ("0 0 * * * *",
     "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 6"),
    ("0 0 * * * # nightly",
     "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 7"),
    ("garbage", "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 1"),
    ("61 * * * *", "minute: 61 is out of range 0-59"),
    ("60 * * * *", "minute: 60 is out of range 0-59"),
    ("0 24 * * *", "hour: 24 is out of range 0-23"),
    ("0 0 0 * *", "day of month: 0 is out of range 1-31"),
    ("0 0 1 0 *", "month: 0 is out of range 1-12"),
    ("0 0 1 13 *", "month: 13 is out of range 1-12"),
    ("0 0 * * 7", "day of week: 7 is out of range 0-6 (use 0 or SUN for Sunday)"),
    ("0 0 * * 0-7", "day of week: 7 is out of range 0-6 (use 0 or SUN for Sunday)"),
    ("70/5 * * * *", "minute: 70 is out of range 0-59"),
    ("99999999999999999999 * * * *", "minute: 99999999999999999999 is out of range 0-59"),
    ("5-1 * * * *", "minute: range 5-1 starts after it ends"),
    ("*/0 * * * *", "minute: step must be a positive number, got 0"),
    ("*/-0 * * * *", "minute: step must be a positive number, got 0"),
    ("*/-1 * * * *", "minute: step must be a positive number, got -1"),
    ("*/ * * * *", "minute: step must be a positive number, got nothing"),
    ("*/x * * * *", "minute: step must be a positive number, got 'x'"),
    ("*/9223372036854775808 * * * *", "minute: step 9223372036854775808 is too large"),
    ("*/-99999999999999999999 * * * *",
     "minute: step must be a positive number, got -99999999999999999999"),
    ("++5 * * * *", "minute: expected a number, got '++5'"),  # Atoi: one sign at most
    ("*/++5 * * * *", "minute: step must be a positive number, got '++5'"),
    ("*/+-5 * * * *", "minute: step must be a positive number, got '+-5'"),
    ("/5 * * * *", "minute: expected a number, got nothing"),
    ("1-2-3 * * * *", "minute: too many '-' in '1-2-3'"),
    ("*/5/2 * * * *", "minute: too many '/' in '*/5/2'"),
    ("a b c d e", "minute: expected a number, got 'a'"),
    ("1.5 * * * *", "minute: expected a number, got '1.5'"),
    ("1_0 * * * *", "minute: expected a number, got '1_0'"),
    ("\u0661 * * * *", "minute: expected a number, got '\u0661'"),
    ("0\x1c0 * * * *", "minute: expected a number, got '0\\x1c0'"),
    ("MON * * * *", "minute: expected a number, got 'MON'"),
    ("0 0 * * MONDAY", "day of week: expected a number or a day name (SUN-SAT), got 'MONDAY'"),
    ("0 0 * * JAN", "day of week: expected a number or a day name (SUN-SAT), got 'JAN'"),
    ("0 0 1 SUN *", "month: expected a number or a month name (JAN-DEC), got 'SUN'"),
    ("0 0 * * 5L", "day of week: expected a number or a day name (SUN-SAT), got '5L'"),
    ("0 0 * * 1#2", "day of week: expected a number or a day name (SUN-SAT), got '1#2'"),
    ("0 0 15W * *", "day of month: expected a number, got '15W'"),
    ("0 0 * * -1", "day of week: expected a number or a day name (SUN-SAT), got nothing"),
    ("@daily ", "unknown descriptor '@daily ' (expected @yearly, @annually, @monthly, @weekly, "
     "@daily, @midnight, @hourly or @every <duration>)"),
    ("@DAILY", "unknown descriptor '@DAILY' (expected @yearly, @annually, @monthly, @weekly, "
     "@daily, @midnight, @hourly or @every <duration>)"),
    ("@every", "unknown descriptor '@every' (expected @yearly, @annually, @monthly, @weekly, "
     "@daily, @midnight, @hourly or @every <duration>)"),
    ("@every 1d", "@every: unknown unit 'd' in duration '1d' (Go durations have no 'd' unit; "
     "use hours, e.g. 87600h for 10 years)"),
    ("@every  1h", "@every: invalid duration ' 1h'"),
    ("TZ=UTC 0 0 * * *", "cannot use TZ or CRON_TZ in the schedule; pass the time zone as tz "
     "(spec.timeZone) instead"),
    ("CRON_TZ=Europe/Berlin 0 0 * * *", "cannot use TZ or CRON_TZ in the schedule; pass the "
     "time zone as tz (spec.timeZone) instead"),
    ("TZ=UTC", "cannot use TZ or CRON_TZ in the schedule; pass the time zone as tz "
     "(spec.timeZone) instead"),
]  # fmt: skip


@pytest.mark.parametrize("expr,message", ERROR_CASES)
def test_invalid_schedules(expr: str, message: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(expr)
    assert info.value.message == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "expr,rendered",
    [
        ("61 * * * *", "minute: 61 is out of range 0-59\n    61 * * * *\n    ^^"),
        (
            "0 0 * * 0-7",
            "day of week: 7 is out of range 0-6 (use 0 or SUN for Sunday)\n"
            "    0 0 * * 0-7\n              ^",
        ),
        (
            "*/5 0,99 * * *",
            "hour: 99 is out of range 0-23\n    */5 0,99 * * *\n          ^^",
        ),
        (
            "0 0 * * * extra",
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found 6\n"
            "    0 0 * * * extra\n              ^^^^^",
        ),
        (
            "TZ=UTC 0 0 * * *",
            "cannot use TZ or CRON_TZ in the schedule; pass the time zone as tz (spec.timeZone)"
            " instead\n    TZ=UTC 0 0 * * *\n    ^^",
        ),
    ],
)
def test_error_points_at_the_text(expr: str, rendered: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(expr)
    assert str(info.value) == rendered


BIG = "9" * 5000  # past Python's 4300-digit int-string limit
ZEROS = "0" * 5000  # Go's Atoi reads leading zeros


@pytest.mark.parametrize(
    "expr,message,span",
    [
        (BIG + " * * * *", "minute: %s is out of range 0-59" % BIG, (0, 5000)),
        ("1-" + BIG + " * * * *", "minute: %s is out of range 0-59" % BIG, (2, 5002)),
        ("0 0 1 +" + BIG + " *", "month: +%s is out of range 1-12" % BIG, (6, 5007)),
        ("0 0 * * " + ZEROS + "7", "day of week: 7 is out of range 0-6 (use 0 or SUN for Sunday)",
         (8, 5009)),
        ("*/" + BIG + " * * * *", "minute: step %s is too large" % BIG, (2, 5002)),
        ("*/-" + BIG + " * * * *", "minute: step must be a positive number, got -" + BIG,
         (2, 5003)),
        ("@every " + BIG + "h",
         "@every: invalid duration '%sh' (overflows int64 nanoseconds)" % BIG, (7, 5008)),
    ],
)  # fmt: skip
def test_huge_numbers_are_range_errors(expr: str, message: str, span: Any) -> None:
    # Go's Atoi fails any number beyond int64 with "value out of range"; the digits are counted
    # before int() runs, so neither Python's int-string limit nor a slow conversion is hit.
    with pytest.raises(ScheduleError) as info:
        parse_schedule(expr)
    assert type(info.value) is ScheduleError
    assert info.value.message == message
    assert info.value.span == span


def test_leading_zeros_are_read_as_go_reads_them() -> None:
    s = parse_schedule(ZEROS + "5 " + ZEROS + "23 * * */" + ZEROS + "2")
    assert (s.minutes, s.hours, s.days_of_week) == ((5,), (23,), (0, 2, 4, 6))
    assert parse_schedule("@every " + ZEROS + "90s").every == 90


# (expr, minutes, hours, days of month, months, days of week, dom star, dow star)
PARSED = [
    ("*/15 9-17 * * MON-FRI", (0, 15, 30, 45), tuple(range(9, 18)), tuple(range(1, 32)),
     tuple(range(1, 13)), (1, 2, 3, 4, 5), True, False),
    ("0 0 */1 * 1", (0,), (0,), tuple(range(1, 32)), tuple(range(1, 13)), (1,), True, False),
    ("0 0 */2 * ?", (0,), (0,), tuple(range(1, 32, 2)), tuple(range(1, 13)), tuple(range(7)),
     False, True),
    ("0 0 1-31 * 0-6", (0,), (0,), tuple(range(1, 32)), tuple(range(1, 13)), tuple(range(7)),
     False, False),
    ("0 0 , * *", (0,), (0,), (), tuple(range(1, 13)), tuple(range(7)), False, True),
    ("+0-+5 * * * *", (0, 1, 2, 3, 4, 5), tuple(range(24)), tuple(range(1, 32)),
     tuple(range(1, 13)), tuple(range(7)), True, True),
    ("*/9223372036854775807 * * * *", (0,), tuple(range(24)), tuple(range(1, 32)),
     tuple(range(1, 13)), tuple(range(7)), True, True),
    ("@yearly", (0,), (0,), (1,), (1,), tuple(range(7)), False, True),
    ("@weekly", (0,), (0,), tuple(range(1, 32)), tuple(range(1, 13)), (0,), True, False),
]  # fmt: skip


@pytest.mark.parametrize("expr,mi,h,dom,mon,dow,dom_star,dow_star", PARSED)
def test_parsed_fields(
    expr: str,
    mi: tuple,  # type: ignore[type-arg]
    h: tuple,  # type: ignore[type-arg]
    dom: tuple,  # type: ignore[type-arg]
    mon: tuple,  # type: ignore[type-arg]
    dow: tuple,  # type: ignore[type-arg]
    dom_star: bool,
    dow_star: bool,
) -> None:
    s = parse_schedule(expr)
    assert (s.minutes, s.hours, s.days_of_month, s.months, s.days_of_week) == (
        mi, h, dom, mon, dow,
    )  # fmt: skip
    assert (s.dom_star, s.dow_star, s.every) == (dom_star, dow_star, None)


@pytest.mark.parametrize(
    "expr,seconds",
    [("@every 1h", 3600), ("@every 1500ms", 1), ("@every 0", 1), ("@every -5m", 1),
     ("@every 1h30m10.9s", 5410), ("@every 87600h", 315360000)],
)  # fmt: skip
def test_every_interval(expr: str, seconds: int) -> None:
    assert parse_schedule(expr).every == seconds


@pytest.mark.parametrize(
    "expr,text",
    [(" 0\t9  * *   * ", "0\t9  * *   *"), ("@every 1h", "@every 1h"),
     ("\u30000 0 * * *\u3000", "0 0 * * *"), ("1,,2 * * * *", "1,,2 * * * *")],
)  # fmt: skip
def test_str_is_trimmed_text(expr: str, text: str) -> None:
    s = parse_schedule(expr)
    assert str(s) == text
    assert parse_schedule(str(s)) == s


def test_schedule_value_semantics() -> None:
    a, b = parse_schedule("0 9 * * 1-5"), parse_schedule("0 9 * * 1-5")
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != parse_schedule("0 9 * * MON-FRI")  # same times, different text
    assert repr(a) == "Schedule('0 9 * * 1-5')"
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        setattr(a, "hours", (10,))  # noqa: B010
    with pytest.raises(AttributeError):
        delattr(a, "expr")


# (name, None if valid else the exact message)
ZONES = [
    ("UTC", None),
    ("Etc/GMT+5", None),
    ("America/Argentina/Buenos_Aires", None),
    ("Europe/Berlin", None),
    ("", "time zone must not be empty (leave tz unset to use start's zone)"),
    ("Local", "time zone must be an explicit IANA name such as 'Europe/Berlin', not 'Local'"),
    ("lOcAl", "time zone must be an explicit IANA name such as 'Europe/Berlin', not 'lOcAl'"),
    ("../etc/passwd", "time zone: '..' is not allowed as a name component"),
    ("Europe/../../etc/passwd", "time zone: '..' is not allowed as a name component"),
    ("./UTC", "time zone: '.' is not allowed as a name component"),
    ("/etc/localtime", "time zone: empty name component"),
    ("Europe//Berlin", "time zone: empty name component"),
    ("Europe/Berlin/", "time zone: empty name component"),
    ("Europe/ABCDEFGHIJKLMNO",
     "time zone: name component 'ABCDEFGHIJKLMNO' is longer than 14 characters"),
    ("-UTC", "time zone: name component '-UTC' starts with '-'"),
    ("Europe/Berlin\n", "time zone: name component 'Berlin\\n' has characters outside "
     "A-Za-z0-9.-_+"),
    ("Europe/Berl\u0131n", "time zone: name component 'Berl\u0131n' has characters outside "
     "A-Za-z0-9.-_+"),
    ("Mars/Olympus", "unknown time zone 'Mars/Olympus' (not in the time-zone database)"),
    ("America", "unknown time zone 'America' (not in the time-zone database)"),
    ("zone.tab", "unknown time zone 'zone.tab' (not in the time-zone database)"),
    ("etc/passwd", "unknown time zone 'etc/passwd' (not in the time-zone database)"),
]  # fmt: skip


@pytest.mark.parametrize("name,message", ZONES)
def test_validate_time_zone(name: str, message: Optional[str]) -> None:
    if message is None:
        validate_time_zone(name)
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        assert next_fire_time("0 0 * * *", start, tz=name) is not None
        return
    with pytest.raises(ScheduleError) as info:
        validate_time_zone(name)
    assert info.value.message == message
    with pytest.raises(ScheduleError):
        iter_fire_times("0 0 * * *", datetime(2024, 1, 1, tzinfo=timezone.utc), tz=name)


def test_time_zone_path_traversal_reads_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    opened: List[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    for name in ("../etc/passwd", "../../../../etc/shadow", "/etc/passwd"):
        with pytest.raises(ScheduleError):
            validate_time_zone(name)
    assert opened == []


def test_tz_argument_forms() -> None:
    start = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    by_name = next_fire_time("0 9 * * *", start, tz="Asia/Tokyo")
    by_zone = next_fire_time("0 9 * * *", start, tz=ZoneInfo("Asia/Tokyo"))
    fixed = next_fire_time("0 9 * * *", start, tz=timezone(timedelta(hours=9)))
    default = next_fire_time("0 9 * * *", start.astimezone(ZoneInfo("Asia/Tokyo")))
    assert by_name is not None and by_zone is not None and fixed is not None
    assert default is not None
    assert by_name.isoformat() == "2024-01-02T09:00:00+09:00"
    assert by_name == by_zone == fixed == default
    assert by_name.tzinfo is ZoneInfo("Asia/Tokyo")
    assert fixed.tzinfo == timezone(timedelta(hours=9))
    # default: the start's own zone
    assert next_fire_time("0 9 * * *", start) == datetime(2024, 1, 2, 9, tzinfo=timezone.utc)


class NoOffset(tzinfo):
    """A tzinfo with no offsets at all (utcoffset() is None): cannot place a wall time."""

    def utcoffset(self, dt: Optional[datetime]) -> Optional[timedelta]:
        return None

    def dst(self, dt: Optional[datetime]) -> Optional[timedelta]:
        return None


NO_OFFSET_MESSAGE = (
    "tz.utcoffset() returned None: tz must be a concrete time zone such as "
    "zoneinfo.ZoneInfo('Europe/Berlin') or datetime.timezone.utc"
)


@pytest.mark.parametrize(
    "call",
    [
        lambda start: next_fire_time("* * * * *", start, tz=NoOffset()),
        lambda start: iter_fire_times("* * * * *", start, tz=NoOffset()),  # at the call
        lambda start: iter_fire_times("0 0 * * *", start, tz=NoOffset(), reverse=True),
        lambda start: next_fire_time("@every 1h", start, tz=NoOffset()),
    ],
)
def test_tz_without_offsets_is_a_type_error(call: Any) -> None:
    with pytest.raises(TypeError) as info:
        call(datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert str(info.value) == NO_OFFSET_MESSAGE


# UTC offsets that Go cannot express (seconds and microseconds) still give times strictly
# after (before) the start; the comparison is on absolute instants, at full precision.
SUB_SECOND_ZONE = timezone(timedelta(seconds=1, microseconds=30))
HALF_SECOND_ZONE = timezone(timedelta(microseconds=500_000))


@pytest.mark.parametrize(
    "expr,start,reverse,want",
    [
        ("* * * * *", datetime(2026, 1, 1, tzinfo=SUB_SECOND_ZONE), False,
         "2026-01-01T00:01:00+00:00:01.000030"),
        ("* * * * *", datetime(2026, 1, 1, tzinfo=SUB_SECOND_ZONE), True,
         "2025-12-31T23:59:00+00:00:01.000030"),
        ("0 0 * * *", datetime(2026, 1, 1, tzinfo=SUB_SECOND_ZONE), False,
         "2026-01-02T00:00:00+00:00:01.000030"),
        # wall 00:01:00 is 00:00:59.5 UTC: after a start at 00:00:59.2 UTC, in the same second
        ("* * * * *", datetime(2026, 1, 1, 0, 0, 59, 200_000, tzinfo=timezone.utc), False,
         "2026-01-01T00:01:00+00:00:00.500000"),
        ("* * * * *", datetime(2026, 1, 1, 0, 0, 59, 500_000, tzinfo=timezone.utc), False,
         "2026-01-01T00:02:00+00:00:00.500000"),
        ("* * * * *", datetime(2026, 1, 1, 0, 0, 59, 500_001, tzinfo=timezone.utc), True,
         "2026-01-01T00:01:00+00:00:00.500000"),
        ("* * * * *", datetime(2026, 1, 1, 0, 0, 59, 500_000, tzinfo=timezone.utc), True,
         "2026-01-01T00:00:00+00:00:00.500000"),
    ],
)  # fmt: skip
def test_sub_second_offsets(expr: str, start: datetime, reverse: bool, want: str) -> None:
    zone = SUB_SECOND_ZONE if start.tzinfo is SUB_SECOND_ZONE else HALF_SECOND_ZONE
    got = next(iter_fire_times(expr, start, tz=zone, reverse=reverse))
    assert got.isoformat() == want
    assert (got < start) if reverse else (got > start)


class EvilText(str):
    """A str whose methods lie: it claims to hold no "TZ" and to equal any other str."""

    def find(self, *args: Any) -> int:
        return -1

    def split(self, *args: Any) -> Any:
        return ["UTC"]

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("UTC")


def test_str_subclasses_are_read_as_plain_text() -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(EvilText("TZ=UTC 0 0 * * *"))
    assert info.value.message.startswith("cannot use TZ or CRON_TZ in the schedule")
    s = parse_schedule(EvilText(" 0 0 * * * "))
    assert type(s.expr) is str and s.expr == "0 0 * * *"
    with pytest.raises(ScheduleError) as info:
        validate_time_zone(EvilText("../etc/passwd"))
    assert info.value.message == "time zone: '..' is not allowed as a name component"
    # a lying name neither hits nor poisons the zone cache
    start = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    tokyo = next_fire_time("0 9 * * *", start, tz=EvilText("Asia/Tokyo"))
    assert tokyo is not None and tokyo.isoformat() == "2024-01-02T09:00:00+09:00"
    utc = next_fire_time("0 9 * * *", start, tz="UTC")
    assert utc is not None and utc.isoformat() == "2024-01-02T09:00:00+00:00"


# wrong Python types, typed as Any so the calls type-check
NONE: Any = None
BYTES: Any = b"* * * * *"
TEXT_START: Any = "2024-01-01"
FIVE: Any = 5


@pytest.mark.parametrize(
    "call,exc,message",
    [
        (lambda: parse_schedule(NONE), TypeError, "schedule must be a str, not NoneType"),
        (lambda: parse_schedule(BYTES), TypeError, "schedule must be a str, not bytes"),
        (lambda: next_fire_time("* * * * *", datetime(2024, 1, 1)), TypeError,
         "start must be a timezone-aware datetime (got a naive one)"),
        (lambda: next_fire_time("* * * * *", TEXT_START), TypeError,
         "start must be a datetime, not str"),
        (lambda: next_fire_time(FIVE, datetime(2024, 1, 1, tzinfo=timezone.utc)), TypeError,
         "schedule must be a Schedule or a str, not int"),
        (lambda: next_fire_time("* * * * *", datetime(2024, 1, 1, tzinfo=timezone.utc), tz=FIVE),
         TypeError, "tz must be a time zone name, a tzinfo or None, not int"),
        (lambda: validate_time_zone(NONE), TypeError, "time zone must be a str, not NoneType"),
        (lambda: iter_fire_times("@every 1h", datetime(2024, 1, 1, tzinfo=timezone.utc),
                                 reverse=True), ScheduleError,
         "reverse=True is not supported for '@every 1h': an @every schedule has no fixed "
         "times to count back from"),
        (lambda: iter_fire_times("61 * * * *", datetime(2024, 1, 1, tzinfo=timezone.utc)),
         ScheduleError, "minute: 61 is out of range 0-59"),
    ],
)  # fmt: skip
def test_argument_errors(call, exc, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc) as info:
        call()
    text = info.value.message if isinstance(info.value, ScheduleError) else str(info.value)
    assert text == message


def test_next_fire_time_matches_iterator_and_accepts_text_or_schedule() -> None:
    start = datetime(2024, 3, 9, 3, tzinfo=timezone.utc)
    s = parse_schedule("0 0 */1 * 1")
    assert next_fire_time(s, start) == next_fire_time("0 0 */1 * 1", start)
    assert next_fire_time(s, start) == next(iter_fire_times(s, start))
    assert next_fire_time("0 0 30 2 *", start) is None


def test_iteration_stops_at_year_9999() -> None:
    start = datetime(9999, 12, 31, 23, 58, tzinfo=timezone.utc)
    assert [t.minute for t in iter_fire_times("* * * * *", start)] == [59]
    early = datetime(1, 1, 1, 0, 2, tzinfo=timezone.utc)
    assert [t.minute for t in iter_fire_times("* * * * *", early, reverse=True)] == [1, 0]
    assert list(itertools.islice(iter_fire_times("@every 1h", start), 3)) == []


def test_import_is_stdlib_only() -> None:
    code = (
        "import sys; before = set(sys.modules); import kpkilite.cron as c; "
        "c.parse_schedule('@every 1h'); "
        "new = sorted(set(sys.modules) - before); "
        "std = getattr(sys, 'stdlib_module_names', None); "
        "bad = [m for m in new if std is not None and not m.startswith('kpkilite') "
        "and m.split('.')[0] not in std]; "
        "assert 'oscrypto' not in sys.modules and 'asn1crypto' not in sys.modules, new; "
        "assert not bad, bad; "
        "assert {m for m in new if m.startswith('kpkilite')} <= "
        "{'kpkilite', 'kpkilite.errors', 'kpkilite.cron', 'kpkilite._duration'}, new"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- CLI: kpkilite cron 'EXPR' [--tz ZONE] [--from ISO] [-n 5] --------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kpkilite", "cron", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args,stdout",
    [
        (("*/5 * * * *", "--tz", "America/New_York", "--from", "2024-03-10T01:50:00-05:00",
          "-n", "3"),
         "2024-03-10T01:55:00-05:00\n2024-03-10T03:00:00-04:00\n2024-03-10T03:05:00-04:00\n"),
        (("@daily", "--from", "2024-02-28T05:00:00+00:00", "-n", "2"),
         "2024-02-29T00:00:00+00:00\n2024-03-01T00:00:00+00:00\n"),
        (("0 0 30 2 *", "--from", "2024-01-01T00:00:00+00:00"), ""),
    ],
)  # fmt: skip
def test_cli_prints_next_times(args: tuple, stdout: str) -> None:  # type: ignore[type-arg]
    proc = _cli(*args)
    assert (proc.returncode, proc.stdout) == (0, stdout), proc.stderr


def test_cli_default_count_is_5() -> None:
    proc = _cli("0 * * * *", "--from", "2024-01-01T00:00:00+00:00")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 5


@pytest.mark.parametrize(
    "args,error",
    [
        (("61 * * * *",), "minute: 61 is out of range 0-59\n    61 * * * *\n    ^^"),
        (("0 0 * * *", "--tz", "../etc/passwd"), "time zone: '..' is not allowed"),
        (("TZ=UTC 0 0 * * *",), "cannot use TZ or CRON_TZ in the schedule"),
    ],
)
def test_cli_rejects_invalid_input(args: tuple, error: str) -> None:  # type: ignore[type-arg]
    proc = _cli(*args)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert error in proc.stderr


# --- the shared conformance file, when this checkout sits beside it ---------------------


def _shared_cases() -> list:  # type: ignore[type-arg]
    if not os.path.exists(SHARED_CASES):
        return []
    with open(SHARED_CASES, encoding="utf-8") as fh:
        return list(json.load(fh)["cases"])


@pytest.mark.skipif(not os.path.exists(SHARED_CASES), reason="shared conformance cases absent")
@pytest.mark.parametrize("case", _shared_cases(), ids=lambda c: c["id"])
def test_shared_conformance_case(case: dict) -> None:  # type: ignore[type-arg]
    tz: Any = case.get("tz")
    if case.get("error") and case.get("field") == "timeZone":
        with pytest.raises(ScheduleError):
            validate_time_zone(tz)
        return
    if case.get("error"):
        with pytest.raises(ScheduleError):
            parse_schedule(case["expr"])
        return
    for key, reverse in (("next", False), ("prev", True)):
        if key in case:
            extra = 1 if case.get("exhausted") and key == "next" else 0
            got = _take(case["expr"], case["start"], tz, len(case[key]) + extra, reverse)
            if extra:
                assert len(got) == len(case[key])
            assert _same(got[: len(case[key])], case[key]), [g.isoformat() for g in got]


def test_docs_examples_run() -> None:
    import doctest

    path = os.path.join(ROOT, "docs", "cron.md")
    result = doctest.testfile(
        path,
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 10 and result.failed == 0
