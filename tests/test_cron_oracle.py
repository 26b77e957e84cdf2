"""kpkilite.cron against brute force: every yielded time matches, none is skipped, order holds.

A minute-by-minute scan of absolute instants over random windows (and windows around every
DST change) is the oracle: an instant fires iff its wall clock in the zone matches the
schedule. Plus hypothesis properties: any text parses or raises ScheduleError, quickly.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import List, Optional, Tuple
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpkilite.cron import Schedule, iter_fire_times, next_fire_time, parse_schedule
from kpkilite.errors import ScheduleError

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
UTC = timezone.utc
MINUTE = timedelta(minutes=1)

SCHEDULES = [
    "* * * * *",
    "*/5 * * * *",
    "*/7 * * * *",
    "0,30 * * * *",
    "15,45 2 * * *",
    "0 2 * * *",
    "30 2 * * *",
    "0 1-3 * * *",
    "*/10 1,2 * * *",
    "45 1 * * *",
    "0 0 * * *",
    "0 9 * * 1-5",
    "0 0 1 * 1",
    "0 0 */2 * */2",
    "0 0 *,1 * 1",
    "59 23 * * 0",
    "0 12 29 2 *",
    "0 0 1-7 * 1",
    "@hourly",
    "@daily",
]

#: Windows that contain a DST change in each zone (2024, and Lord Howe's half-hour one).
DST_STARTS = [
    "2024-03-09T20:00:00+00:00", "2024-11-02T20:00:00+00:00",  # New York
    "2024-03-30T18:00:00+00:00", "2024-10-26T18:00:00+00:00",  # Berlin
    "2024-04-06T06:00:00+00:00", "2024-10-05T06:00:00+00:00",  # Lord Howe
]  # fmt: skip


def matches(s: Schedule, local: datetime) -> bool:
    """Does this wall-clock time match? (robfig dayMatches; written apart from the module.)"""
    if local.second or local.minute not in s.minutes or local.hour not in s.hours:
        return False
    if local.month not in s.months:
        return False
    dom = local.day in s.days_of_month
    dow = (local.weekday() + 1) % 7 in s.days_of_week  # Go: Sunday = 0
    return (dom and dow) if (s.dom_star or s.dow_star) else (dom or dow)


def brute_force(s: Schedule, zone: ZoneInfo, lo: datetime, hi: datetime) -> List[datetime]:
    """Every whole-minute instant in (lo, hi] whose wall clock in zone matches."""
    out = []
    u = lo.replace(second=0, microsecond=0) + MINUTE
    while u <= hi:
        local = u.astimezone(zone)
        if matches(s, local):
            out.append(local)
        u += MINUTE
    return out


def windows() -> List[Tuple[str, str, datetime, int]]:
    rng = random.Random(20240601)
    out = []
    for zone in ZONES:
        starts = [datetime.fromisoformat(t) for t in DST_STARTS]
        starts += [
            datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 3 * 525600))
            for _ in range(3)
        ]
        for i, start in enumerate(starts):
            start += timedelta(seconds=rng.randrange(0, 60), microseconds=rng.randrange(0, 10**6))
            for expr in rng.sample(SCHEDULES, 4):
                out.append((zone, expr, start, 36 * 60 if i < len(DST_STARTS) else 8 * 60))
    return out


def _key(dt: datetime) -> Tuple[datetime, object]:
    return (dt.astimezone(UTC), dt.utcoffset())


@pytest.mark.parametrize("zone_name,expr,start,minutes", windows())
def test_forward_against_brute_force(
    zone_name: str, expr: str, start: datetime, minutes: int
) -> None:
    zone = ZoneInfo(zone_name)
    s = parse_schedule(expr)
    hi = start + timedelta(minutes=minutes)
    want = brute_force(s, zone, start, hi)
    got = []
    for t in iter_fire_times(s, start, tz=zone_name):
        if t > hi:
            break
        got.append(t)
    for t in got:
        assert t.tzinfo is zone
        assert matches(s, t), t.isoformat()
        assert t.astimezone(zone).utcoffset() == t.utcoffset()  # fold is right
    instants = [t.astimezone(UTC) for t in got]
    assert all(a < b for a, b in zip(instants, instants[1:])), "not strictly increasing"
    assert instants[:1] == [] or instants[0] > start
    assert [_key(t) for t in got] == [_key(t) for t in want]


@pytest.mark.parametrize("zone_name,expr,start,minutes", windows()[::3])
def test_reverse_against_brute_force(
    zone_name: str, expr: str, start: datetime, minutes: int
) -> None:
    zone = ZoneInfo(zone_name)
    s = parse_schedule(expr)
    end = start + timedelta(minutes=minutes)
    lo = start - timedelta(minutes=1)
    want = [t for t in brute_force(s, zone, lo, end) if t.astimezone(UTC) < end][::-1]
    got = []
    for t in iter_fire_times(s, end, tz=zone_name, reverse=True):
        if t.astimezone(UTC) <= lo:
            break
        got.append(t)
    instants = [t.astimezone(UTC) for t in got]
    assert all(a > b for a, b in zip(instants, instants[1:])), "not strictly decreasing"
    assert all(matches(s, t) for t in got)
    assert [_key(t) for t in got] == [_key(t) for t in want]


@pytest.mark.parametrize("zone_name", ZONES)
def test_long_runs_are_monotonic_and_match(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    for expr in ("*/30 * * * *", "0 2 * * *", "30 1,2 * * 0"):
        s = parse_schedule(expr)
        prev = None
        it = iter_fire_times(s, datetime(2023, 12, 31, tzinfo=UTC), tz=zone)
        for _, t in zip(range(3000), it):
            assert matches(s, t)
            if prev is not None:
                assert prev.astimezone(UTC) < t.astimezone(UTC)
            prev = t


def test_lord_howe_repeated_half_hour_fires_where_the_wall_clock_matches() -> None:
    # 2024-04-07 02:00+11:00 -> 01:30+10:30: 02:00+10:30 exists (once) and fires.
    # (robfig's hour-stepping Next jumps from 01:30 to 02:30 here and misses it; see docs.)
    start = datetime(2024, 4, 6, 12, tzinfo=UTC)
    got = [
        t.isoformat()
        for _, t in zip(range(2), iter_fire_times("0 2 * * *", start, tz="Australia/Lord_Howe"))
    ]
    assert got == ["2024-04-07T02:00:00+10:30", "2024-04-08T02:00:00+10:30"]


# --- properties ------------------------------------------------------------------------

ATOMS = st.sampled_from(
    ["*", "?", "0", "1", "5", "7", "12", "23", "31", "59", "60", "+3", "-1", "MON", "jan", "sun",
     "FRI", "x", "", "1_0", "\u0661", "L", "#", "W"]
)  # fmt: skip
ITEM = st.builds(
    lambda a, b, step: a + ("-" + b if b is not None else "") + ("/" + step if step else ""),
    ATOMS,
    st.one_of(st.none(), ATOMS),
    st.one_of(st.none(), st.sampled_from(["0", "1", "2", "5", "15", "-2", "", "99"])),
)
FIELD = st.lists(ITEM, min_size=1, max_size=3).map(",".join)
NEAR_VALID = st.lists(FIELD, min_size=4, max_size=6).map(" ".join)
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789*/-,?@ \tMONJAYZT=", max_size=30),
    NEAR_VALID,
    st.builds("@every {}".format, st.text(alphabet="0123456789.hmsun-+ ", max_size=12)),
)


@settings(max_examples=600, deadline=None)
@given(TEXT)
def test_any_text_parses_or_raises_schedule_error_quickly(text: str) -> None:
    t0 = time.perf_counter()
    try:
        s = parse_schedule(text)
    except ScheduleError as exc:
        assert exc.message and "\n" not in exc.message
        if exc.span is not None:
            assert 0 <= exc.span[0] <= exc.span[1] <= len(text) + 1
    else:
        assert parse_schedule(str(s)) == s
        assert str(s) == str(s).strip()
    assert time.perf_counter() - t0 < 0.05


@settings(max_examples=150, deadline=None)
@given(
    NEAR_VALID,
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    st.sampled_from(ZONES),
)
def test_next_and_previous_agree(text: str, naive: datetime, zone_name: str) -> None:
    try:
        s = parse_schedule(text)
    except ScheduleError:
        return
    start = naive.replace(tzinfo=UTC)
    t0 = time.perf_counter()
    nxt = next_fire_time(s, start, tz=zone_name)
    prev = next(iter_fire_times(s, start, tz=zone_name, reverse=True), None)
    assert time.perf_counter() - t0 < 1.0
    if nxt is not None:
        assert nxt.astimezone(UTC) > start and matches(s, nxt)
    if prev is not None:
        assert prev.astimezone(UTC) < start and matches(s, prev)
        # nothing fires strictly between prev and start
        after_prev = next_fire_time(s, prev, tz=zone_name)
        assert after_prev is not None and after_prev.astimezone(UTC) >= start


class Fixed(tzinfo):
    """A fixed offset that is not a datetime.timezone: iteration asks it about every time."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def utcoffset(self, dt: Optional[datetime]) -> timedelta:
        return self.offset

    def dst(self, dt: Optional[datetime]) -> timedelta:
        return timedelta(0)


# Any offset Python allows: strictly within a day, to the microsecond.
OFFSETS = st.integers(min_value=-86_400 * 10**6 + 1, max_value=86_400 * 10**6 - 1).map(
    lambda us: timedelta(microseconds=us)
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(SCHEDULES),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
    OFFSETS,
    st.sampled_from([timezone, Fixed]),
    st.booleans(),
)
def test_times_are_strictly_after_start_for_any_offset(
    expr: str, naive: datetime, offset: timedelta, kind: type, reverse: bool
) -> None:
    zone = kind(offset)
    start = naive.replace(tzinfo=UTC)
    s = parse_schedule(expr)
    got = list(zip(range(3), iter_fire_times(s, start, tz=zone, reverse=reverse)))
    times = [t for _, t in got]
    assert times, "these schedules always fire within 5 years"
    for t in times:
        assert (t < start) if reverse else (t > start)
        assert matches(s, t), t.isoformat()
    pairs = list(zip(times, times[1:]))
    assert all((a > b) if reverse else (a < b) for a, b in pairs), "not strictly monotonic"
    # none skipped between the start and the first time: counting back (on) from the first
    # time lands at or before (after) the start
    back = next(iter_fire_times(s, times[0], tz=zone, reverse=not reverse), None)
    assert back is None or ((back >= start) if reverse else (back <= start))


def test_day_without_midnight_does_not_leak_into_the_next_day() -> None:
    # America/Santiago skips 2024-09-08 00:00. robfig's hour loop runs from the 7th into the 8th
    # without re-checking the day and fires '0 5 7 9 *' on the 8th; the wall clock says 2025.
    start = datetime.fromisoformat("2024-09-07T12:00:00-04:00")
    got = next_fire_time("0 5 7 9 *", start, tz="America/Santiago")
    assert got is not None and got.isoformat() == "2025-09-07T05:00:00-03:00"
    assert matches(parse_schedule("0 5 7 9 *"), got)
