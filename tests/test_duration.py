"""Go durations (time.ParseDuration) as kpkilite reads them for expiry, backdate and @every."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpkilite._duration import (
    HOUR,
    MINUTE,
    SECOND,
    DurationSyntaxError,
    format_duration,
    parse_duration,
)

# (text, nanoseconds) -- values as Go's time.ParseDuration returns them
VALID = [
    ("0", 0),
    ("+0", 0),
    ("-0", 0),
    ("87600h", 87600 * HOUR),
    ("43800h", 43800 * HOUR),
    ("1h30m", 90 * MINUTE),
    ("1.5h", 90 * MINUTE),
    ("1.5s", 1_500_000_000),
    (".5m", 30 * SECOND),
    ("1.s", SECOND),
    ("300ms", 300_000_000),
    ("10us", 10_000),
    ("10\u00b5s", 10_000),
    ("10\u03bcs", 10_000),
    ("7ns", 7),
    ("-1h", -HOUR),
    ("1h1h", 2 * HOUR),
    ("2562047h47m16.854775807s", (1 << 63) - 1),
    ("1.9999999999999999999s", 2 * SECOND),  # Go scales long fractions through float64
    ("0.000000001s", 1),
    ("0" * 5000 + "1h", HOUR),  # leading zeros are free, as in Go
    ("1." + "9" * 5000 + "s", 2 * SECOND),
    ("-9223372036854775808ns", -(1 << 63)),
    ("9223372036854775807ns", (1 << 63) - 1),
]

INVALID = [
    ("", "invalid duration ''"),
    ("h", "invalid duration 'h'"),
    (".", "invalid duration '.'"),
    ("1", "missing unit in duration '1'"),
    ("1h1", "missing unit in duration '1h1'"),
    ("-", "invalid duration '-'"),
    ("1 h", "unknown unit ' h' in duration '1 h' (units are ns, us, ms, s, m, h)"),
    ("10d", "unknown unit 'd' in duration '10d' (Go durations have no 'd' unit; use hours, "
            "e.g. 87600h for 10 years)"),
    ("10y", "unknown unit 'y' in duration '10y' (Go durations have no 'y' unit; use hours, "
            "e.g. 87600h for 10 years)"),
    ("1H", "unknown unit 'H' in duration '1H' (units are ns, us, ms, s, m, h)"),
    ("\u0661h", "invalid duration '\u0661h'"),  # Arabic-Indic digit one: not ASCII
    ("2562047h47m16.854775808s",
     "invalid duration '2562047h47m16.854775808s' (overflows int64 nanoseconds)"),
    ("9999999999999999999h", "invalid duration '9999999999999999999h' (overflows int64 "
                             "nanoseconds)"),
    # Go's leadingInt overflows past 1<<63 before it looks for a unit
    ("9223372036854775809", "invalid duration '9223372036854775809' (overflows int64 "
                            "nanoseconds)"),
    ("9223372036854775808", "missing unit in duration '9223372036854775808'"),
    ("1" + "0" * 5000, "invalid duration '1%s' (overflows int64 nanoseconds)" % ("0" * 5000)),
    ("9" * 5000 + "h", "invalid duration '%sh' (overflows int64 nanoseconds)" % ("9" * 5000)),
    ("1h" + "9" * 5000 + "ns",
     "invalid duration '1h%sns' (overflows int64 nanoseconds)" % ("9" * 5000)),
]  # fmt: skip


@pytest.mark.parametrize("text,expected", VALID)
def test_valid(text: str, expected: int) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text,message", INVALID)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(DurationSyntaxError) as info:
        parse_duration(text)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_type_error() -> None:
    with pytest.raises(TypeError):
        parse_duration(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "ns,text",
    [(0, "0s"), (87600 * HOUR, "87600h0m0s"), (90 * MINUTE, "1h30m0s"), (1_500_000_000, "1.5s"),
     (-HOUR, "-1h0m0s"), (300_000_000, "300ms"), (10_000, "10\u00b5s"), (7, "7ns")],
)  # fmt: skip
def test_format(ns: int, text: str) -> None:
    assert format_duration(ns) == text


@given(st.integers(min_value=-(1 << 62), max_value=1 << 62))
def test_format_round_trips(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_duration_error(text: str) -> None:
    with contextlib.suppress(DurationSyntaxError):
        parse_duration(text)
