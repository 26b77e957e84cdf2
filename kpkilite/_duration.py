"""Go-style durations (``time.ParseDuration``): ``"87600h"``, ``"1h30m"``, ``"1.5s"``.

Grammar (Go's, verbatim in meaning)::

    duration = [ "-" | "+" ] ( "0" | { number unit }+ )
    number   = digits [ "." [ digits ] ] | "." digits
    unit     = "ns" | "us" | "µs" (U+00B5) | "μs" (U+03BC) | "ms" | "s" | "m" | "h"

Digits are ASCII only. The value must fit in an int64 count of nanoseconds; a
number of more than 19 digits (leading zeros aside) is an overflow however many
it has, and is refused before it is converted, so huge inputs stay cheap.
There is no ``d`` or ``y`` unit: Go has none, and cfssl and robfig both use Go's
parser. Callers wrap :class:`DurationSyntaxError` into their own typed error.

>>> parse_duration("1h30m")
5400000000000
>>> format_duration(parse_duration("87600h"))
'87600h0m0s'
>>> parse_duration("1.9999999999999999999s")  # Go's float64 scaling of long fractions
2000000000
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Optional

__all__ = [
    "DurationSyntaxError",
    "parse_duration",
    "format_duration",
    "utc_now",
    "SECOND",
    "MINUTE",
    "HOUR",
]

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
_INT64_MAX = (1 << 63) - 1
_INT64_DIGITS = len(str(_INT64_MAX))

#: unit name -> nanoseconds
UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,
    "\u03bcs": MICROSECOND,
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_DIGITS = "0123456789"


class DurationSyntaxError(ValueError):
    """The text is not a Go duration; the message says why."""


def _hint(text: str, unit: str) -> str:
    if unit in ("d", "w", "y"):
        return " (Go durations have no %r unit; use hours, e.g. 87600h for 10 years)" % unit
    return " (units are ns, us, ms, s, m, h)"


def parse_duration(text: str) -> int:
    """Parse a Go duration and return a whole number of nanoseconds (may be negative).

    Raises:
        TypeError: ``text`` is not a str.
        DurationSyntaxError: the text is not a Go duration or overflows int64.
    """
    if not isinstance(text, str):
        raise TypeError("duration must be a str, not %s" % type(text).__name__)
    s = text
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise DurationSyntaxError("invalid duration %r" % text)
    total = 0
    i, n = 0, len(s)
    while i < n:
        start = i
        while i < n and s[i] in _DIGITS:
            i += 1
        whole = s[start:i]
        # Go's leadingInt fails past 1<<63, before the unit is read. Count the digits first
        # (leading zeros aside): int() of a 5000-digit string is slow and hits Python's limit.
        significant = whole.lstrip("0")
        if len(significant) > _INT64_DIGITS:
            raise DurationSyntaxError(_overflow(text))
        number = int(significant) if significant else 0
        if number > _INT64_MAX + 1:
            raise DurationSyntaxError(_overflow(text))
        frac = ""
        if i < n and s[i] == ".":
            i += 1
            fstart = i
            while i < n and s[i] in _DIGITS:
                i += 1
            frac = s[fstart:i]
        if not whole and not frac:
            raise DurationSyntaxError("invalid duration %r" % text)
        ustart = i
        while i < n and s[i] not in _DIGITS and s[i] != ".":
            i += 1
        unit = s[ustart:i]
        if not unit:
            raise DurationSyntaxError("missing unit in duration %r" % text)
        if unit not in UNITS:
            raise DurationSyntaxError(
                "unknown unit %r in duration %r%s" % (unit, text, _hint(text, unit))
            )
        scale = UNITS[unit]
        value = number * scale
        if value > _INT64_MAX + 1:
            raise DurationSyntaxError(_overflow(text))
        if frac:
            value += _go_fraction(frac, scale)
        total += value
        if total > (_INT64_MAX + (1 if neg else 0)):
            raise DurationSyntaxError(_overflow(text))
    return -total if neg else total


def _overflow(text: str) -> str:
    return "invalid duration %r (overflows int64 nanoseconds)" % text


def _go_fraction(frac: str, unit: int) -> int:
    """The fraction's nanoseconds exactly as Go computes them.

    Go reads fraction digits only while they fit in an int64 (about 18), then
    scales in float64 and truncates: ``int64(float64(f) * (float64(unit) / scale))``.
    So ``1.9999999999999999999s`` is 2s in Go, and so here.
    """
    f, scale = 0, 1.0
    for ch in frac:
        if f > _INT64_MAX // 10:
            break
        f = f * 10 + (ord(ch) - 48)
        scale *= 10
    return int(float(f) * (float(unit) / scale))


def format_duration(ns: int) -> str:
    """Format nanoseconds like Go's ``Duration.String`` for whole seconds (``87600h0m0s``).

    Sub-second parts are printed as a decimal fraction of seconds.
    """
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns == 0:
        return "0s"
    if ns < SECOND:
        for unit, scale in (("ms", MILLISECOND), ("\u00b5s", MICROSECOND)):
            if ns >= scale:
                return sign + _trim(ns, scale) + unit
        return sign + "%dns" % ns
    hours, rest = divmod(ns, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    secs = _trim(rest, SECOND)
    if hours:
        return "%s%dh%dm%ss" % (sign, hours, minutes, secs)
    if minutes:
        return "%s%dm%ss" % (sign, minutes, secs)
    return "%s%ss" % (sign, secs)


def _trim(value: int, scale: int) -> str:
    whole, frac = divmod(value, scale)
    if not frac:
        return str(whole)
    digits = len(str(scale)) - 1
    return ("%d.%0*d" % (whole, digits, frac)).rstrip("0")


def utc_now(now: Optional[datetime] = None) -> datetime:
    """The clock every ``now=`` parameter reads: ``now`` in UTC, or the current time.

    Raises:
        TypeError: ``now`` is not a datetime, or is naive (its zone would be a guess).
    """
    from datetime import datetime, timezone

    if now is None:
        return datetime.now(timezone.utc)
    if not isinstance(now, datetime):
        raise TypeError("now must be a datetime, not %s" % type(now).__name__)
    if now.tzinfo is None or now.utcoffset() is None:
        raise TypeError("now must be an aware datetime (e.g. datetime.now(timezone.utc))")
    return now.astimezone(timezone.utc)
