"""The public API, recorded: every public module's ``__all__`` and the shape of each name.

``tests/api_snapshot.txt`` holds, per module, one line per name in ``__all__``:
functions and methods with their ``inspect.signature``, classes with their bases
and constructor signature (TypedDicts with their keys, dataclasses with their
fields, public methods and properties), constants with their type (and value
when it is a short literal). A change to any of it fails this test until the
snapshot is regenerated on purpose::

    KPKILITE_UPDATE_SNAPSHOT=1 python -m pytest tests/test_api_snapshot.py

and the diff of ``tests/api_snapshot.txt`` is reviewed with the change.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import importlib
import inspect
import os
import re
from pathlib import Path
from typing import Any, List

import pytest

SNAPSHOT = Path(__file__).resolve().parent / "api_snapshot.txt"
MODULES = ["kpkilite", "kpkilite.errors", "kpkilite.csr", "kpkilite.signing", "kpkilite.files",
           "kpkilite.certinfo", "kpkilite.cluster", "kpkilite.cron", "kpkilite.labels"]
UPDATE = "KPKILITE_UPDATE_SNAPSHOT"

#: values whose text is the version, not the interface
_UNRECORDED_VALUES = {"__version__"}


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(<no signature>)"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)  # object() sentinels as defaults


def _literal(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, (tuple, list)):
        return all(_literal(v) for v in value)
    return False


def _value(name: str, value: Any) -> str:
    kind = type(value).__name__
    if name in _UNRECORDED_VALUES:
        return kind
    if _literal(value) and len(repr(value)) <= 200:
        return "%s = %r" % (kind, value)
    if isinstance(value, (dict, frozenset, set)) or hasattr(value, "keys"):
        keys = sorted(map(str, value.keys() if hasattr(value, "keys") else value))
        return "%s of %d: %s" % (kind, len(keys), ", ".join(keys))
    return kind


def _annotation(annotation: Any) -> str:
    """An annotation as its source text (``from __future__ import annotations`` keeps it one;
    TypedDict wraps it in a ForwardRef, whose repr differs between Python versions)."""
    if isinstance(annotation, str):
        return annotation
    forward = getattr(annotation, "__forward_arg__", None)
    if isinstance(forward, str):
        return forward
    return getattr(annotation, "__name__", repr(annotation))


def _is_typeddict(cls: type) -> bool:
    return hasattr(cls, "__required_keys__") and hasattr(cls, "__optional_keys__")


def _class_lines(qual: str, cls: type) -> List[str]:
    bases = ", ".join(b.__name__ for b in cls.__bases__)
    lines: List[str] = []
    if _is_typeddict(cls):
        lines.append("%s: TypedDict" % qual)
        required = cls.__required_keys__  # type: ignore[attr-defined]
        for key, annotation in cls.__annotations__.items():
            lines.append("  %s%s: %s" % (key, "" if key in required else "?",
                                         _annotation(annotation)))
        return lines
    if issubclass(cls, enum.Enum):
        lines.append("%s: enum(%s) %s" % (qual, bases, ", ".join(m.name for m in cls)))
        return lines
    if issubclass(cls, BaseException):
        lines.append("%s: exception(%s)" % (qual, bases))
        return lines
    kind = "dataclass" if dataclasses.is_dataclass(cls) else "class"
    if kind == "dataclass":
        params = getattr(cls, "__dataclass_params__", None)
        if params is not None and params.frozen:
            kind = "frozen dataclass"
    lines.append("%s: %s(%s) %s" % (qual, kind, bases, _signature(cls)))
    for attr, member in sorted(vars(cls).items()):
        if attr.startswith("_") and attr not in ("__str__", "__call__"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            flavour = type(member).__name__
            lines.append("  %s %s%s" % (flavour, attr, _signature(member.__func__)))
        elif isinstance(member, property):
            lines.append("  property %s" % attr)
        elif inspect.isfunction(member):
            lines.append("  def %s%s" % (attr, _signature(member)))
    return lines


def describe(module_name: str) -> List[str]:
    """The snapshot lines of one module."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    lines = ["[%s]" % module_name]
    if names is None:
        return lines + ["  <no __all__>"]
    for name in names:
        if not hasattr(module, name):
            lines.append("%s: <missing>" % name)
            continue
        obj = getattr(module, name)
        if inspect.isclass(obj):
            lines += _class_lines(name, obj)
        elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
            lines.append("%s%s" % (name, _signature(obj)))
        else:
            lines.append("%s: %s" % (name, _value(name, obj)))
    return lines


def snapshot_text() -> str:
    blocks = ["\n".join(describe(m)) for m in MODULES]
    header = ("# kpkilite public API (tests/test_api_snapshot.py). Regenerate deliberately:\n"
              "#   %s=1 python -m pytest tests/test_api_snapshot.py\n" % UPDATE)
    return header + "\n\n".join(blocks) + "\n"


def test_api_matches_snapshot() -> None:
    current = snapshot_text()
    if os.environ.get(UPDATE) == "1":
        SNAPSHOT.write_text(current)
    if not SNAPSHOT.exists():
        pytest.fail("%s is missing; create it with: %s=1 python -m pytest %s"
                    % (SNAPSHOT, UPDATE, "tests/test_api_snapshot.py"))
    recorded = SNAPSHOT.read_text()
    if current != recorded:
        diff = "".join(difflib.unified_diff(
            recorded.splitlines(True), current.splitlines(True),
            "tests/api_snapshot.txt (recorded)", "the code now"))
        pytest.fail("the public API changed. If that is intended, regenerate the snapshot and "
                    "commit it with the change:\n    %s=1 python -m pytest "
                    "tests/test_api_snapshot.py\n\n%s" % (UPDATE, diff), pytrace=False)


@pytest.mark.parametrize("module_name", MODULES)
def test_all_names_exist(module_name: str) -> None:
    """Every name in ``__all__`` is there (``from m import *`` would fail otherwise)."""
    module = importlib.import_module(module_name)
    assert isinstance(module.__all__, list)
    assert [n for n in module.__all__ if not hasattr(module, n)] == []
    assert len(set(module.__all__)) == len(module.__all__)


_SENTINEL = object()


@pytest.mark.parametrize(
    "obj, expected",
    [
        (lambda a, *, b=1: None, "(a, *, b=1)"),
        (lambda a=_SENTINEL: None, "(a=<object object>)"),
    ],
)
def test_signature_text(obj: Any, expected: str) -> None:
    """Signatures are stable text: memory addresses of sentinel defaults are dropped."""
    assert _signature(obj) == expected


def test_value_text() -> None:
    assert _value("X", ("rsa", "ecdsa")) == "tuple = ('rsa', 'ecdsa')"
    assert _value("X", {"b": 1, "a": 2}) == "dict of 2: a, b"
    assert _value("X", frozenset({"y", "x"})) == "frozenset of 2: x, y"
    assert _value("__version__", "0.1.0") == "str"
