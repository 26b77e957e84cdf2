"""Reading cfssl JSON documents the way Go's encoding/json does, with errors that name the field.

Go matches object keys to struct fields case-insensitively, so ``"cn"`` and
``"CN"`` are the same field; kpkilite does the same, refuses a document that
spells one field twice, and warns about keys it does not know (naming the
closest known key, so ``host`` suggests ``hosts``).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
import warnings
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Type

from .errors import InputError, KpkiliteWarning


def closest(word: str, choices: Iterable[str]) -> Optional[str]:
    """The closest of ``choices`` to ``word`` (case-insensitive), or None."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    hit = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hit[0]] if hit else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or ``""``."""
    hit = closest(word, choices)
    return "; did you mean %r?" % hit if hit else ""


def join_path(path: str, key: str) -> str:
    return "%s.%s" % (path, key) if path else key


def fields(
    doc: Any,
    path: str,
    known: Sequence[str],
    error: Type[InputError],
    *,
    ignored: Sequence[str] = (),
) -> Dict[str, Any]:
    """Map a JSON object's keys onto ``known`` field names, case-insensitively.

    Args:
        doc: the parsed JSON object.
        path: where it sits in the document, for messages ("" for the top).
        known: the field names, spelt as cfssl spells them.
        error: the InputError subclass to raise.
        ignored: fields cfssl knows that kpkilite accepts and ignores (with a warning).

    Returns:
        ``{known spelling: value}`` for the fields present.

    Raises:
        error: ``doc`` is not an object, or one field is spelt twice.
    """
    if not isinstance(doc, Mapping):
        raise error("%s: expected a JSON object, got %s" % (path or "document", json_type(doc)))
    by_lower = {k.lower(): k for k in known}
    ignored_lower = {k.lower(): k for k in ignored}
    found: Dict[str, Any] = {}
    spelt: Dict[str, str] = {}
    for key, value in doc.items():
        if not isinstance(key, str):
            raise TypeError("document keys must be str, not %s" % type(key).__name__)
        canon = by_lower.get(key.lower())
        if canon is None:
            where = "%s: " % path if path else ""
            if key.lower() in ignored_lower:
                warn("%s%r is not supported by kpkilite and is ignored" % (where, key))
            else:
                warn("%sunknown key %r is ignored%s" % (where, key, did_you_mean(key, known)))
            continue
        if canon in found:
            raise error(
                "%s: %r and %r are the same field (keys are case-insensitive); keep one"
                % (join_path(path, canon), spelt[canon], key)
            )
        found[canon] = value
        spelt[canon] = key
    return found


def warn(message: str) -> None:
    """Warn with KpkiliteWarning, attributed to the first caller outside kpkilite."""
    warnings.warn(message, KpkiliteWarning, stacklevel=_caller_level())


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_level() -> int:
    """The ``stacklevel`` of the innermost frame outside this package (2 = warn's caller)."""
    frame = sys._getframe(2)  # warn's caller
    level = 2
    while frame is not None and os.path.dirname(
            os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def json_type(value: Any) -> str:
    """How a JSON value's type is named in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def get_str(found: Mapping[str, Any], name: str, path: str, error: Type[InputError]) -> str:
    """A string field, "" when absent or null (as Go leaves a missing string empty)."""
    value = found.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise error("%s: expected a string, got %s" % (join_path(path, name), json_type(value)))
    return value


def get_int(
    found: Mapping[str, Any], name: str, path: str, error: Type[InputError]
) -> Optional[int]:
    """An integer field (a JSON number with no fraction), None when absent or null."""
    value = found.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise error("%s: expected an integer, got %s" % (join_path(path, name), describe(value)))
    return value


def get_bool(found: Mapping[str, Any], name: str, path: str, error: Type[InputError]) -> bool:
    value = found.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise error("%s: expected true or false, got %s" % (join_path(path, name), describe(value)))
    return value


def get_str_list(
    found: Mapping[str, Any], name: str, path: str, error: Type[InputError]
) -> Sequence[str]:
    """A list of strings, () when absent or null."""
    value = found.get(name)
    where = join_path(path, name)
    if value is None:
        return ()
    if isinstance(value, str):
        items = [p.strip() for p in value.split(",")]
        suggestion = "[%s]" % ", ".join(json.dumps(p) for p in items)
        if len(suggestion) > 80 or not all(items):
            raise error("%s: expected a list of strings, got a string" % where)
        raise error("%s: expected a list of strings, got a string; write %s"
                    % (where, suggestion))
    if not isinstance(value, (list, tuple)):
        raise error("%s: expected a list of strings, got %s" % (where, json_type(value)))
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise error("%s[%d]: expected a string, got %s" % (where, i, describe(item)))
    return tuple(value)


def describe(value: Any) -> str:
    """A JSON value in a message: its type, and the value when it is short."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "a number (%s)" % short_int(value)
    if isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 40:
        return "%s %s" % (json_type(value), _json_repr(value))
    return json_type(value)


def short_int(value: int) -> str:
    """An integer for a message: its digits, or its size when it is huge.

    (Python refuses to print an int of more than 4300 digits.)

    >>> short_int(42), short_int(10**50)
    ('42', 'a 51-digit number')
    """
    if value.bit_length() <= 64:
        return str(value)
    digits = int(value.bit_length() * 0.30102999566398) + 1  # log10(2): exact or one over
    if abs(value) < 10 ** (digits - 1):
        digits -= 1
    return "a %d-digit number" % digits


def _json_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)
