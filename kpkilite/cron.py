"""Kubernetes CronJob schedules: parse, validate and list fire times as Kubernetes does.

The reference is what the CronJob controller runs: robfig/cron v3.0.1
``ParseStandard`` plus the API server's create-time validation
(``pkg/apis/batch/validation``: no ``TZ``/``CRON_TZ`` in the schedule, the
``spec.timeZone`` naming rules). Grammar (robfig's, verbatim in meaning)::

    schedule   = descriptor | field ws field ws field ws field ws field
    field      = item { "," item }          empty items are dropped: "1,,2" = "1,2"
    item       = range [ "/" step ]
    range      = "*" | "?" | value [ "-" value ]
    value      = number | name              names only in month and day of week
    number     = [ "+" | "-" ] digit { digit }   Go strconv.Atoi: ASCII digits only
    descriptor = "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily"
               | "@midnight" | "@hourly" | "@every " go-duration

Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of
week 0-6 or SUN-SAT (7 is an error). ``N/step`` runs from N to the field maximum.
``*`` and ``?`` are the same thing in every field. A ``*`` or ``?`` anywhere in the
day-of-month or day-of-week field sets robfig's "star bit" unless its step is
greater than 1; if either day field has it, both day fields must match (AND),
otherwise either may (OR). Whitespace between fields is any Go ``unicode.IsSpace``
run; descriptors must match exactly (``"@daily "`` is an error).

Fire times are the instants whose wall clock in the time zone matches, searched at
most 5 calendar years past the start as robfig does: a time in a spring-forward gap
never fires, a time in a repeated autumn hour fires twice.

>>> s = parse_schedule("*/15 9-17 * * MON-FRI")
>>> s.minutes, s.days_of_week
((0, 15, 30, 45), (1, 2, 3, 4, 5))
>>> from datetime import datetime, timezone
>>> next_fire_time(s, datetime(2024, 1, 5, 17, 50, tzinfo=timezone.utc)).isoformat()
'2024-01-08T09:00:00+00:00'
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Dict, Iterator, List, Optional, Set, Tuple, Union

from .errors import ScheduleError

__all__ = [
    "Schedule",
    "iter_fire_times",
    "next_fire_time",
    "parse_schedule",
    "validate_time_zone",
]

_MONTH_NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

#: (label, minimum, maximum, names, hint for a bad value) per field, in order.
_FIELDS: Tuple[Tuple[str, int, int, Optional[Dict[str, int]], str], ...] = (
    ("minute", 0, 59, None, "a number"),
    ("hour", 0, 23, None, "a number"),
    ("day of month", 1, 31, None, "a number"),
    ("month", 1, 12, _MONTH_NAMES, "a number or a month name (JAN-DEC)"),
    ("day of week", 0, 6, _DAY_NAMES, "a number or a day name (SUN-SAT)"),
)

#: Descriptor -> (minutes, hours, days of month, months, days of week, dom star, dow star),
#: as robfig's parseDescriptor builds them.
_ALL_DOM = tuple(range(1, 32))
_ALL_MONTHS = tuple(range(1, 13))
_ALL_DOW = tuple(range(7))
_ALL_HOURS = tuple(range(24))
_Fields = Tuple[
    Tuple[int, ...], Tuple[int, ...], Tuple[int, ...], Tuple[int, ...], Tuple[int, ...], bool, bool
]
_YEARLY: _Fields = ((0,), (0,), (1,), (1,), _ALL_DOW, False, True)
_DAILY: _Fields = ((0,), (0,), _ALL_DOM, _ALL_MONTHS, _ALL_DOW, True, True)
_DESCRIPTORS: Dict[str, _Fields] = {
    "@yearly": _YEARLY,
    "@annually": _YEARLY,
    "@monthly": ((0,), (0,), (1,), _ALL_MONTHS, _ALL_DOW, False, True),
    "@weekly": ((0,), (0,), _ALL_DOM, _ALL_MONTHS, (0,), True, False),
    "@daily": _DAILY,
    "@midnight": _DAILY,
    "@hourly": ((0,), _ALL_HOURS, _ALL_DOM, _ALL_MONTHS, _ALL_DOW, True, True),
}
_EVERY = "@every "

#: Go's unicode.IsSpace. Python's str.isspace() also counts U+001C..U+001F, which Go does not.
_NOT_GO_SPACE = frozenset("\x1c\x1d\x1e\x1f")
_GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_DIGITS = "0123456789"


class Schedule:
    """A parsed CronJob schedule; immutable. ``str()`` is the expression, trimmed.

    Build one with :func:`parse_schedule`. The value tuples are sorted and use
    robfig's numbering (day of week 0 = Sunday). ``dom_star``/``dow_star`` are
    robfig's star bits: if either is set, a day must match both day fields.
    ``every`` is the interval in whole seconds of an ``@every`` schedule (robfig
    truncates to seconds, minimum 1 s), else None and the other fields apply.
    """

    __slots__ = (
        "expr",
        "minutes",
        "hours",
        "days_of_month",
        "months",
        "days_of_week",
        "dom_star",
        "dow_star",
        "every",
        "_days",
    )
    expr: str
    minutes: Tuple[int, ...]
    hours: Tuple[int, ...]
    days_of_month: Tuple[int, ...]
    months: Tuple[int, ...]
    days_of_week: Tuple[int, ...]
    dom_star: bool
    dow_star: bool
    every: Optional[int]
    _days: Dict[Tuple[int, int], Tuple[int, ...]]

    def __init__(
        self,
        expr: str,
        minutes: Tuple[int, ...] = (),
        hours: Tuple[int, ...] = (),
        days_of_month: Tuple[int, ...] = (),
        months: Tuple[int, ...] = (),
        days_of_week: Tuple[int, ...] = (),
        dom_star: bool = False,
        dow_star: bool = False,
        every: Optional[int] = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "expr", expr)
        setter(self, "minutes", minutes)
        setter(self, "hours", hours)
        setter(self, "days_of_month", days_of_month)
        setter(self, "months", months)
        setter(self, "days_of_week", days_of_week)
        setter(self, "dom_star", dom_star)
        setter(self, "dow_star", dow_star)
        setter(self, "every", every)
        setter(self, "_days", {})

    def _key(self) -> Tuple[object, ...]:
        return (
            self.expr, self.minutes, self.hours, self.days_of_month, self.months,
            self.days_of_week, self.dom_star, self.dow_star, self.every,
        )  # fmt: skip

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Schedule is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Schedule is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Schedule(%r)" % self.expr

    def __str__(self) -> str:
        return self.expr

    def __reduce__(self) -> Tuple[object, Tuple[str]]:
        return (parse_schedule, (self.expr,))

    def _month_days(self, year: int, month: int) -> Tuple[int, Tuple[int, ...]]:
        """Return (ordinal of the 1st, allowed days) for one month (robfig dayMatches)."""
        first = date(year, month, 1).toordinal()
        ndays = 31 if month == 12 else date(year, month + 1, 1).toordinal() - first
        key = (first % 7, ndays)  # ordinal % 7 is Go's weekday of the 1st (0 = Sunday)
        days = self._days.get(key)
        if days is None:
            wd0 = key[0] - 1
            dom = sum(1 << v for v in self.days_of_month)
            dow = sum(1 << v for v in self.days_of_week)
            if self.dom_star or self.dow_star:
                days = tuple(
                    d for d in range(1, ndays + 1) if dom >> d & 1 and dow >> ((wd0 + d) % 7) & 1
                )
            else:
                days = tuple(
                    d for d in range(1, ndays + 1) if dom >> d & 1 or dow >> ((wd0 + d) % 7) & 1
                )
            self._days[key] = days
        return first, days


# --- parsing -------------------------------------------------------------------------


def _plain(text: str) -> str:
    """``text`` as an exact str: a subclass is read as its characters, its methods unused.

    So a subclass's ``find``/``split``/``__eq__``/``__hash__`` can neither slip past a
    check nor make the field and zone caches answer for another text.
    """
    return text if type(text) is str else str.__str__(text)


def _split_fields(text: str) -> List[Tuple[int, str]]:
    """Split like Go strings.Fields, keeping each field's offset."""
    out: List[Tuple[int, str]] = []
    if _NOT_GO_SPACE.isdisjoint(text):
        pos = 0
        for part in text.split():  # Python's whitespace == Go's when U+001C..U+001F are absent
            pos = text.index(part, pos)
            out.append((pos, part))
            pos += len(part)
        return out
    i, n = 0, len(text)
    while i < n:
        if text[i] in _GO_SPACE:
            i += 1
            continue
        j = i
        while j < n and text[j] not in _GO_SPACE:
            j += 1
        out.append((i, text[i:j]))
        i = j
    return out


#: How many digits an int64 has at most, leading zeros aside.
_INT64_DIGITS = len(str(_INT64_MAX))


def _atoi(tok: str) -> Optional[int]:
    """Go strconv.Atoi: an optional sign and ASCII digits; None on Go's syntax error.

    A number beyond int64 (Go's "value out of range") comes back as
    ``_INT64_MAX + 1`` or ``_INT64_MIN - 1``, for the caller to report as a range
    error. The digits are counted (leading zeros aside, which Go accepts) before
    ``int()`` sees them, so a 5000-digit number costs nothing and never meets
    Python's limit on int-string conversion.
    """
    sign = tok[:1]
    digits = tok[1:] if sign in ("+", "-") else tok
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) < _INT64_DIGITS:  # the usual case: fits, whatever the digits
        return -int(digits) if sign == "-" else int(digits)
    significant = digits.lstrip("0")
    if len(significant) > _INT64_DIGITS:
        return _BELOW_INT64 if sign == "-" else _ABOVE_INT64
    value = int(significant) if significant else 0
    if sign == "-":
        return max(-value, _BELOW_INT64)
    return min(value, _ABOVE_INT64)


_ABOVE_INT64 = _INT64_MAX + 1
_BELOW_INT64 = _INT64_MIN - 1


def _in_int64(value: int) -> bool:
    return _INT64_MIN <= value <= _INT64_MAX


def _go_lower(tok: str) -> str:
    # Go's strings.ToLower maps U+0130 to plain "i"; Python's str.lower() adds U+0307.
    return tok.replace("\u0130", "i").lower()


def _parse_value(tok: str, pos: int, fi: int, text: str) -> int:
    label, lo, hi, names, hint = _FIELDS[fi]
    if names is not None and len(tok) <= 8:
        named = names.get(_go_lower(tok))
        if named is not None:
            return named
    value = _atoi(tok)
    if value is None:
        got = "nothing" if not tok else repr(tok)
        raise ScheduleError(
            "%s: expected %s, got %s" % (label, hint, got),
            text=text,
            span=(pos, pos + max(1, len(tok))),
        )
    return value  # beyond int64 (Go's range error) it is out of the field's range too


def _range_error(fi: int, tok: str, value: int, pos: int, text: str) -> ScheduleError:
    label, lo, hi, _names, _hint = _FIELDS[fi]
    extra = " (use 0 or SUN for Sunday)" if fi == 4 and value == 7 else ""
    shown = "%d" % value if _in_int64(value) else tok  # past int64: as written
    return ScheduleError(
        "%s: %s is out of range %d-%d%s" % (label, shown, lo, hi, extra),
        text=text,
        span=(pos, pos + len(tok)),
    )


def _parse_item(item: str, pos: int, fi: int, text: str) -> Tuple[range, bool]:
    """Return one list item's values and its star bit (robfig getRange)."""
    label, lo, hi, _names, _hint = _FIELDS[fi]
    if item == "*" or item == "?":
        return range(lo, hi + 1), True
    range_text, _, step_text = item.partition("/")
    bounds = range_text.split("-")
    end_pos = pos
    end_tok = bounds[0]
    if bounds[0] == "*" or bounds[0] == "?":
        # robfig looks only at the text before the first '-': "*-5" is "*".
        start, end, star = lo, hi, True
    else:
        start = _parse_value(bounds[0], pos, fi, text)
        star = False
        if len(bounds) == 1:
            end = start
        elif len(bounds) == 2:
            end_pos = pos + len(bounds[0]) + 1
            end_tok = bounds[1]
            end = _parse_value(bounds[1], end_pos, fi, text)
        else:
            raise ScheduleError(
                "%s: too many '-' in %r" % (label, item), text=text, span=(pos, pos + len(item))
            )
    step = 1
    if "/" in item:
        step_pos = pos + len(range_text) + 1
        if "/" in step_text:
            raise ScheduleError(
                "%s: too many '/' in %r" % (label, item), text=text, span=(pos, pos + len(item))
            )
        parsed = _atoi(step_text)
        step_span = (step_pos, step_pos + max(1, len(step_text)))
        if parsed is None:
            got = "nothing" if not step_text else repr(step_text)
            msg = "%s: step must be a positive number, got %s" % (label, got)
            raise ScheduleError(msg, text=text, span=step_span)
        if parsed > _INT64_MAX:
            raise ScheduleError(
                "%s: step %s is too large" % (label, step_text), text=text, span=step_span
            )
        if parsed < 0:
            shown = "%d" % parsed if _in_int64(parsed) else step_text
            raise ScheduleError(
                "%s: step must be a positive number, got %s" % (label, shown),
                text=text,
                span=step_span,
            )
        step = parsed
        if len(bounds) == 1:  # "N/step" means "N-max/step"
            end = hi
        if step > 1:
            star = False
    if start < lo or start > hi:
        raise _range_error(fi, bounds[0], start, pos, text)
    if end < lo or end > hi:
        raise _range_error(fi, end_tok, end, end_pos, text)
    if start > end:
        raise ScheduleError(
            "%s: range %s starts after it ends" % (label, range_text),
            text=text,
            span=(pos, pos + len(range_text)),
        )
    if step == 0:
        raise ScheduleError(
            "%s: step must be a positive number, got 0" % label,
            text=text,
            span=(pos + len(range_text) + 1, pos + len(item)),
        )
    return range(start, end + 1, step), star


def _parse_descriptor(text: str) -> Schedule:
    fields = _DESCRIPTORS.get(text)
    if fields is not None:
        return Schedule(text, *fields)
    if text.startswith(_EVERY):
        from ._duration import DurationSyntaxError, parse_duration

        duration_text = text[len(_EVERY) :]
        try:
            ns = parse_duration(duration_text)
        except DurationSyntaxError as exc:
            raise ScheduleError(
                "@every: %s" % exc, text=text, span=(len(_EVERY), len(text))
            ) from exc
        # robfig Every(): below one second becomes one second; then whole seconds only.
        return Schedule(text, every=max(ns, 1_000_000_000) // 1_000_000_000)
    raise ScheduleError(
        "unknown descriptor %r (expected @yearly, @annually, @monthly, @weekly, @daily, "
        "@midnight, @hourly or @every <duration>)" % text,
        text=text,
        span=(0, len(text)),
    )


#: (field index, field text) -> (values, star bit) for fields already parsed once.
_FIELD_CACHE: Dict[Tuple[int, str], Tuple[Tuple[int, ...], bool]] = {}


def parse_schedule(expr: str) -> Schedule:
    """Parse a CronJob ``spec.schedule`` exactly as Kubernetes accepts it.

    The rules are robfig/cron v3.0.1 ``ParseStandard`` (see the module docstring)
    plus Kubernetes create-time validation, which rejects any schedule containing
    ``TZ`` (``TZ=``/``CRON_TZ=`` prefixes: use the ``tz`` argument, Kubernetes'
    ``spec.timeZone``). A schedule that parses may still never fire
    (``0 0 30 2 *``): iteration then simply ends.

    Args:
        expr: the schedule text.

    Returns:
        The :class:`Schedule`; ``str()`` of it is ``expr`` trimmed.

    Raises:
        TypeError: ``expr`` is not a str.
        ScheduleError: the schedule is invalid; the message names the field and
            ``str()`` draws a caret under the bad part.

    >>> parse_schedule("0 9 * * 1-5").hours
    (9,)
    >>> str(parse_schedule(" 0  9 * * * "))
    '0  9 * * *'
    >>> parse_schedule("61 * * * *")
    Traceback (most recent call last):
    ...
    kpkilite.errors.ScheduleError: minute: 61 is out of range 0-59
        61 * * * *
        ^^
    """
    if type(expr) is not str:
        if not isinstance(expr, str):
            raise TypeError("schedule must be a str, not %s" % type(expr).__name__)
        expr = _plain(expr)
    if not expr:
        raise ScheduleError("schedule is empty")
    tz_at = expr.find("TZ")
    if tz_at >= 0:
        raise ScheduleError(
            "cannot use TZ or CRON_TZ in the schedule; pass the time zone as tz "
            "(spec.timeZone) instead",
            text=expr,
            span=(tz_at, tz_at + 2),
        )
    if expr[0] == "@":
        return _parse_descriptor(expr)
    fields = _split_fields(expr)
    if len(fields) != 5:
        span = (fields[5][0], len(expr.rstrip())) if len(fields) > 5 else (0, max(1, len(expr)))
        raise ScheduleError(
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found %d"
            % len(fields),
            text=expr,
            span=span,
        )
    parsed: List[Tuple[int, ...]] = []
    stars: List[bool] = []
    for fi, (fpos, ftext) in enumerate(fields):
        known = _FIELD_CACHE.get((fi, ftext))
        if known is None:
            if "," not in ftext:
                values, star = _parse_item(ftext, fpos, fi, expr)
                known = (tuple(values), star)
            else:
                union: Set[int] = set()
                star = False
                pos = fpos
                for item in ftext.split(","):
                    if item:
                        values, item_star = _parse_item(item, pos, fi, expr)
                        union.update(values)
                        star = star or item_star
                    pos += len(item) + 1
                known = (tuple(sorted(union)), star)
            if len(_FIELD_CACHE) >= 4096:
                _FIELD_CACHE.clear()
            _FIELD_CACHE[fi, ftext] = known
        parsed.append(known[0])
        stars.append(known[1])
    return Schedule(
        expr[fields[0][0] : fields[4][0] + len(fields[4][1])],
        parsed[0],
        parsed[1],
        parsed[2],
        parsed[3],
        parsed[4],
        stars[2],
        stars[4],
    )


# --- time zones ----------------------------------------------------------------------

_TZ_COMPONENT_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_+"
)
_ZONES: Dict[str, tzinfo] = {}
#: Zone names whose offset never changes: no per-time look-ups needed.
_FIXED_NAMES = frozenset(
    ["UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu"]
    + ["Etc/" + n for n in ("UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich")]
    + ["Etc/Universal", "Etc/Zulu"]
    + ["Etc/GMT%+d" % n for n in range(-14, 13) if n]
)


def _load_zone(name: str) -> tzinfo:
    if type(name) is not str:
        name = _plain(name)
    zone = _ZONES.get(name)
    if zone is not None:
        return zone
    validate_time_zone(name)
    return _ZONES[name]


def validate_time_zone(name: str) -> None:
    """Check a time zone name the way Kubernetes checks ``spec.timeZone``.

    Rules (``pkg/apis/batch/validation`` ``validateTimeZone``): not empty; each
    ``/``-separated component is 1-14 of ``A-Za-z0-9.-_+``, not ``.`` or ``..``, and
    does not start with ``-``; not ``Local`` (any case); and the zone must load from
    the time-zone database (``zoneinfo``: the system database or the ``tzdata``
    package). The component rules run first, so ``../etc/passwd`` is refused
    without touching the file system.

    Args:
        name: an IANA time zone name such as ``Europe/Berlin``.

    Raises:
        TypeError: ``name`` is not a str.
        ScheduleError: the name is refused or not in the database.

    >>> validate_time_zone("America/New_York")
    >>> validate_time_zone("../etc/passwd")
    Traceback (most recent call last):
    ...
    kpkilite.errors.ScheduleError: time zone: '..' is not allowed as a name component
        ../etc/passwd
        ^^
    """
    if not isinstance(name, str):
        raise TypeError("time zone must be a str, not %s" % type(name).__name__)
    name = _plain(name)
    if name in _ZONES:
        return
    if not name:
        raise ScheduleError("time zone must not be empty (leave tz unset to use start's zone)")
    pos = 0
    for part in name.split("/"):
        span = (pos, pos + max(1, len(part)))
        problem = None
        if part in (".", ".."):
            problem = "%r is not allowed as a name component" % part
        elif not part:
            problem = "empty name component"
        elif len(part) > 14:
            problem = "name component %r is longer than 14 characters" % part
        elif part.startswith("-"):
            problem = "name component %r starts with '-'" % part
        elif not _TZ_COMPONENT_CHARS.issuperset(part):
            problem = "name component %r has characters outside A-Za-z0-9.-_+" % part
        if problem is not None:
            raise ScheduleError("time zone: " + problem, text=name, span=span)
        pos += len(part) + 1
    if name.lower() == "local":
        raise ScheduleError(
            "time zone must be an explicit IANA name such as 'Europe/Berlin', not %r" % name,
            text=name,
            span=(0, len(name)),
        )
    import zoneinfo

    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, UnicodeError) as exc:
        raise ScheduleError(
            "unknown time zone %r (not in the time-zone database)" % name,
            text=name,
            span=(0, len(name)),
        ) from exc
    _ZONES[name] = zone


# --- iteration -----------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_ORD = 719163  # date(1970, 1, 1).toordinal()
_DAY = 86400
_PROBE = 2 * _DAY  # look this far ahead for a DST fold that reaches back before the start
_US = 1_000_000  # microseconds per second
_NONE_OFFSET = (
    "tz.utcoffset() returned None: tz must be a concrete time zone such as "
    "zoneinfo.ZoneInfo('Europe/Berlin') or datetime.timezone.utc"
)

# Sub-second offsets: Python allows UTC offsets such as +00:00:01.000030, which Go cannot
# express, and a wall-clock minute is then not a whole second of absolute time. Instants are
# kept as (whole seconds since the epoch rounded down, microseconds), and an offset as
# _secs(offset) plus offset.microseconds (timedelta keeps those in 0..999999), so the
# arithmetic stays on small ints and only the boundary second looks at microseconds. Every
# time returned is strictly after (before) the start, at full precision. For whole-second
# offsets this is robfig's rule exactly: it rounds the start up to the next whole second and
# takes the first match from there, and a whole-second fire time is at or after that second
# exactly when it is after the start.


def _secs(delta: Optional[timedelta]) -> int:
    """Whole seconds of an offset rounded down; its ``microseconds`` come on top."""
    if delta is None:
        raise TypeError(_NONE_OFFSET)
    return delta.days * _DAY + delta.seconds


def _exact(u: int, offset: timedelta) -> int:
    """Microseconds since the epoch of a wall time at ``u = w - _secs(offset)``."""
    return u * _US - offset.microseconds


def _instant(dt: datetime) -> Tuple[int, int]:
    """Return (whole seconds since the epoch rounded down, microseconds)."""
    delta = dt - _EPOCH
    return delta.days * _DAY + delta.seconds, delta.microseconds


def _at(u: int, tz: tzinfo) -> datetime:
    """The instant ``u`` (whole seconds since the epoch) in ``tz``."""
    return (_EPOCH + timedelta(seconds=u)).astimezone(tz)


def _offset(dt: datetime) -> timedelta:
    offset = dt.utcoffset()
    if offset is None:
        raise TypeError(_NONE_OFFSET)
    return offset


def _offset_at(u: int, tz: tzinfo, fallback: timedelta) -> timedelta:
    try:
        return _offset(_at(u, tz))
    except (OverflowError, ValueError):
        return fallback


def _fixed_offset(tz: tzinfo) -> Optional[timedelta]:
    """The offset of a zone known never to change; else None."""
    if isinstance(tz, timezone):
        return tz.utcoffset(None)
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key in _FIXED_NAMES:
        return tz.utcoffset(datetime(2000, 1, 1))
    return None


def _wall_fields(w: int) -> Tuple[int, int, int, int, int]:
    days, rem = divmod(w, _DAY)
    d = date.fromordinal(days + _EPOCH_ORD)
    return d.year, d.month, d.day, rem // 3600, rem % 3600 // 60


def _forward(s: Schedule, tz: tzinfo, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after ``after``, in ``tz``: robfig Next, iterated."""
    t, t_us = _instant(after)  # the start is t seconds + t_us microseconds
    fixed = _fixed_offset(tz)
    try:
        start_local = _at(t + 1, tz)  # robfig's search start, the next whole second
        off = _offset(start_local)
        if fixed is None:
            # A wall time before the start can still be a later instant when the clocks go
            # back soon: begin the wall-clock walk early enough to see it.
            off = min(off, _offset_at(t + 1 + _PROBE, tz, off))
        # Wall second w at offset off is after the start iff
        # (w - _secs(off) - t) * _US > t_us + off.microseconds (which is under 2 * _US),
        # iff w > after_wall: the walk begins at the minute at or after after_wall + 1.
        after_wall = t + _secs(off) + (t_us + off.microseconds >= _US)
        y, m0, d0, h0, mi0 = _wall_fields(-((-(after_wall + 1)) // 60) * 60)
    except (OverflowError, ValueError):
        return
    # The same test for zones asked about each time, with u = w - _secs(o): after the start
    # for sure past ``edge``, never before it, and at ``edge`` the microseconds decide.
    edge = t + 1
    limit = start_local.year + 5  # robfig gives up 5 years after the search start
    months, hours, minutes = s.months, s.hours, s.minutes
    month_days = s._month_days
    pending: List[Tuple[int, datetime]] = []  # second occurrences in a repeated hour
    first = True
    while y <= limit and y <= 9999:
        for mo in months:
            if first:
                if mo < m0:
                    continue
                if mo > m0:
                    first = False
            base, days = month_days(y, mo)
            for d in days:
                if first:
                    if d < d0:
                        continue
                    if d > d0:
                        first = False
                dw = (base + d - 1 - _EPOCH_ORD) * _DAY
                for h in hours:
                    if first:
                        if h < h0:
                            continue
                        if h > h0:
                            first = False
                    hw = dw + h * 3600
                    for mi in minutes:
                        if first:
                            if mi < mi0:
                                continue
                            first = False
                        w = hw + mi * 60
                        if fixed is not None:
                            if w > after_wall:
                                yield datetime(y, mo, d, h, mi, tzinfo=tz)
                                limit = y + 5
                            continue
                        dt = datetime(y, mo, d, h, mi, tzinfo=tz)
                        o0 = dt.utcoffset()
                        dt1 = dt.replace(fold=1)
                        o1 = dt1.utcoffset()
                        if o0 == o1:  # the wall time exists once
                            if o0 is None:
                                raise TypeError(_NONE_OFFSET)
                            u = w - o0.days * _DAY - o0.seconds
                            while pending and pending[0][0] < _exact(u, o0):
                                yield pending.pop(0)[1]
                            if u > edge or (u == edge and t_us + o0.microseconds < _US):
                                yield dt
                                limit = y + 5
                        elif o0 is not None and o1 is not None and o0 > o1:  # repeated wall time
                            u = w - _secs(o0)
                            while pending and pending[0][0] < _exact(u, o0):
                                yield pending.pop(0)[1]
                            if u > edge or (u == edge and t_us + o0.microseconds < _US):
                                yield dt
                                limit = y + 5
                            u = w - _secs(o1)
                            if u > edge or (u == edge and t_us + o1.microseconds < _US):
                                pending.append((_exact(u, o1), dt1))
                        # else: the wall time falls in a spring-forward gap and never happens
        y += 1
        first = False
    for _u, dt in pending:
        yield dt


def _reverse(s: Schedule, tz: tzinfo, before: datetime) -> Iterator[datetime]:
    """Fire times strictly before ``before``, newest first: the mirror of _forward."""
    t, t_us = _instant(before)
    fixed = _fixed_offset(tz)
    last = t if t_us else t - 1  # the last whole second before the start
    try:
        start_local = _at(last, tz)
        off = _offset(start_local)
        if fixed is None:
            off = max(off, _offset_at(last - _PROBE, tz, off))
        # Wall second w is before the start iff (w - _secs(off) - t) * _US < r with
        # r = t_us + off.microseconds (0 <= r < 2 * _US), iff w < before_wall.
        before_wall = t + _secs(off) - ((-(t_us + off.microseconds)) // _US)
        y, m0, d0, h0, mi0 = _wall_fields(before_wall - 1)
    except (OverflowError, ValueError):
        return
    # Per time, with u = w - _secs(o): before the start for sure below t, never above t + 1,
    # and for t and t + 1 the microseconds decide.
    high = t + 1
    limit = start_local.year - 5
    months, hours, minutes = s.months[::-1], s.hours[::-1], s.minutes[::-1]
    month_days = s._month_days
    pending: List[Tuple[int, datetime]] = []  # first occurrences in a repeated hour
    first = True
    while y >= limit and y >= 1:
        for mo in months:
            if first:
                if mo > m0:
                    continue
                if mo < m0:
                    first = False
            base, days = month_days(y, mo)
            for d in days[::-1]:
                if first:
                    if d > d0:
                        continue
                    if d < d0:
                        first = False
                dw = (base + d - 1 - _EPOCH_ORD) * _DAY
                for h in hours:
                    if first:
                        if h > h0:
                            continue
                        if h < h0:
                            first = False
                    hw = dw + h * 3600
                    for mi in minutes:
                        if first:
                            if mi > mi0:
                                continue
                            first = False
                        w = hw + mi * 60
                        if fixed is not None:
                            if w < before_wall:
                                yield datetime(y, mo, d, h, mi, tzinfo=tz)
                                limit = y - 5
                            continue
                        dt = datetime(y, mo, d, h, mi, tzinfo=tz)
                        o0 = dt.utcoffset()
                        dt1 = dt.replace(fold=1)
                        o1 = dt1.utcoffset()
                        if o0 == o1:
                            if o0 is None:
                                raise TypeError(_NONE_OFFSET)
                            u = w - o0.days * _DAY - o0.seconds
                            while pending and pending[0][0] > _exact(u, o0):
                                yield pending.pop(0)[1]
                            if u < t or (u <= high and (u - t) * _US < t_us + o0.microseconds):
                                yield dt
                                limit = y - 5
                        elif o0 is not None and o1 is not None and o0 > o1:
                            u = w - _secs(o1)
                            while pending and pending[0][0] > _exact(u, o1):
                                yield pending.pop(0)[1]
                            if u < t or (u <= high and (u - t) * _US < t_us + o1.microseconds):
                                yield dt1
                                limit = y - 5
                            u = w - _secs(o0)
                            if u < t or (u <= high and (u - t) * _US < t_us + o0.microseconds):
                                pending.append((_exact(u, o0), dt))
        y -= 1
        first = False
    for _u, dt in pending:
        yield dt


def _every(seconds: int, tz: tzinfo, after: datetime) -> Iterator[datetime]:
    """robfig ConstantDelaySchedule: drop the sub-second part, add the interval."""
    u, _micro = _instant(after)  # the interval is at least a second: always after the start
    step = timedelta(seconds=seconds)
    current = _EPOCH + timedelta(seconds=u)
    while True:
        try:
            current += step
            yield current.astimezone(tz)
        except OverflowError:
            return


def _gives_offsets(zone: tzinfo, start: datetime) -> bool:
    """False if ``zone`` has no UTC offset (``utcoffset()`` is None), so cannot place a time.

    ``datetime.timezone`` and ``zoneinfo.ZoneInfo`` always have one and are not asked
    (the question costs about a microsecond); for any other tzinfo, datetime's own
    check of the answer (a timedelta under 24 h) runs here too, before any search.
    """
    kind = type(zone)
    if kind is timezone:
        return True
    zoneinfo = sys.modules.get("zoneinfo")  # if the caller has a ZoneInfo, it is imported
    if zoneinfo is not None and kind is zoneinfo.ZoneInfo:
        return True
    return start.replace(tzinfo=zone).utcoffset() is not None


def _resolve(
    schedule_or_expr: Union[Schedule, str], start: datetime, tz: Union[str, tzinfo, None]
) -> Tuple[Schedule, tzinfo]:
    if isinstance(schedule_or_expr, str):
        schedule = parse_schedule(schedule_or_expr)
    elif isinstance(schedule_or_expr, Schedule):
        schedule = schedule_or_expr
    else:
        raise TypeError(
            "schedule must be a Schedule or a str, not %s" % type(schedule_or_expr).__name__
        )
    if not isinstance(start, datetime):
        raise TypeError("start must be a datetime, not %s" % type(start).__name__)
    if start.tzinfo is None or start.utcoffset() is None:
        raise TypeError("start must be a timezone-aware datetime (got a naive one)")
    if tz is None:
        zone: tzinfo = start.tzinfo
    elif isinstance(tz, str):
        zone = _load_zone(tz)
    elif isinstance(tz, tzinfo):
        zone = tz
        if type(zone) is not timezone and not _gives_offsets(zone, start):
            raise TypeError(_NONE_OFFSET)
    else:
        raise TypeError("tz must be a time zone name, a tzinfo or None, not %s" % type(tz).__name__)
    return schedule, zone


def iter_fire_times(
    schedule_or_expr: Union[Schedule, str],
    start: datetime,
    *,
    tz: Union[str, tzinfo, None] = None,
    reverse: bool = False,
) -> Iterator[datetime]:
    """Yield the times a schedule fires after ``start`` (or before it, newest first).

    Semantics are robfig/cron v3.0.1 ``SpecSchedule.Next`` applied repeatedly, as the
    CronJob controller does: a time fires when its wall clock in ``tz`` matches, so
    times in a spring-forward gap are skipped and times in a repeated autumn hour
    fire twice; if no time matches within 5 calendar years of the previous one the
    iterator ends. ``@every`` adds the interval to ``start`` with its sub-second part
    dropped. ``reverse=True`` (ours: robfig has no previous-time) yields the times
    strictly before ``start``, newest first, with the same 5-year limit.

    Args:
        schedule_or_expr: a :class:`Schedule` or schedule text.
        start: an aware datetime; times returned are strictly after it (before it
            with ``reverse=True``).
        tz: an IANA name (validated like ``spec.timeZone``) or a PEP 495 tzinfo such
            as ``zoneinfo.ZoneInfo``; default: ``start.tzinfo``.
        reverse: iterate backwards.

    Returns:
        An iterator of aware datetimes in ``tz`` (``fold=1`` for the second
        occurrence of a repeated time).

    Raises:
        TypeError: ``start`` is naive or not a datetime; wrong argument types.
        ScheduleError: the text or ``tz`` is invalid; ``reverse=True`` with ``@every``.

    >>> from datetime import datetime, timezone
    >>> it = iter_fire_times("0 1 * * *", datetime(2024, 11, 3, 4, tzinfo=timezone.utc),
    ...                      tz="America/New_York")
    >>> [next(it).isoformat() for _ in range(3)]
    ['2024-11-03T01:00:00-04:00', '2024-11-03T01:00:00-05:00', '2024-11-04T01:00:00-05:00']
    """
    schedule, zone = _resolve(schedule_or_expr, start, tz)
    if schedule.every is not None:
        if reverse:
            raise ScheduleError(
                "reverse=True is not supported for %r: an @every schedule has no fixed "
                "times to count back from" % schedule.expr,
                text=schedule.expr,
                span=(0, len(schedule.expr)),
            )
        return _every(schedule.every, zone, start)
    if reverse:
        return _reverse(schedule, zone, start)
    return _forward(schedule, zone, start)


def next_fire_time(
    schedule_or_expr: Union[Schedule, str],
    after: datetime,
    *,
    tz: Union[str, tzinfo, None] = None,
) -> Optional[datetime]:
    """Return the first fire time strictly after ``after``, or None if there is none.

    None means robfig's ``Next`` would return the zero time: nothing matches within
    5 years (``0 0 30 2 *`` never does). See :func:`iter_fire_times` for the rules.

    Args:
        schedule_or_expr: a :class:`Schedule` or schedule text.
        after: an aware datetime.
        tz: an IANA name or a tzinfo; default: ``after.tzinfo``.

    Returns:
        An aware datetime in ``tz``, or None.

    Raises:
        TypeError: ``after`` is naive or not a datetime; wrong argument types.
        ScheduleError: the schedule text or ``tz`` is invalid.

    >>> from datetime import datetime, timezone
    >>> next_fire_time("@monthly", datetime(2024, 1, 31, 10, tzinfo=timezone.utc)).isoformat()
    '2024-02-01T00:00:00+00:00'
    >>> next_fire_time("0 0 30 2 *", datetime(2024, 1, 1, tzinfo=timezone.utc)) is None
    True
    """
    return next(iter_fire_times(schedule_or_expr, after, tz=tz), None)
