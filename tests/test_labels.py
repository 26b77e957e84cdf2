"""Tests for kpkilite.labels: apimachinery label selector semantics, tables first."""

from __future__ import annotations

import ast
import copy
import gc
import json
import os
import pickle
import subprocess
import sys
import weakref
from pathlib import Path
from types import MappingProxyType
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpkilite.errors import LabelError, SelectorError
from kpkilite.labels import (
    Requirement,
    Selector,
    _compile,
    _compile_cached,
    _make_requirement,
    _parse_cached,
    _parse_int64,
    _specs,
    format_selector,
    matches,
    parse_labels,
    parse_selector,
    selector_from_dict,
    validate_key,
    validate_value,
)

ROOT = Path(__file__).resolve().parent.parent
SHARED_CASES = ROOT.parent / "shared" / "conformance" / "labels.json"
ALNUM = "alphanumerics (A-Z, a-z, 0-9), '-', '_' and '.', starting and ending with an alphanumeric"
VALUE_CHARS = "must be empty or consist of " + ALNUM
NAME_CHARS = "the name must consist of " + ALNUM

# --- matching ------------------------------------------------------------------------------------

# (selector, labels, expected). Absent keys, empty values, set edge cases, and >/< with Go's
# strconv.ParseInt(v, 10, 64) rules, where Python's int() would disagree.
MATCH_CASES = [
    ("", {}, True),
    ("", {"a": "b"}, True),
    ("x", {"x": "z"}, True),
    ("x", {"x": ""}, True),
    ("x", {"y": "z"}, False),
    ("!x", {"y": "z"}, True),
    ("!x", {"x": ""}, False),
    ("x=y", {"x": "y"}, True),
    ("x=y", {"x": "z"}, False),
    ("x=y", {}, False),
    ("x==y", {"x": "y"}, True),
    ("a=", {"a": ""}, True),
    ("a=", {}, False),
    ("a!=b", {}, True),
    ("a!=b", {"a": "b"}, False),
    ("a!=b", {"a": ""}, True),
    ("a!=", {}, True),
    ("a!=", {"a": ""}, False),
    ("a in (x,y)", {"a": "y"}, True),
    ("a in (x,y)", {}, False),
    ("a in (x)", {"a": "x"}, True),
    ("a in ()", {"a": ""}, True),
    ("a in ()", {}, False),
    ("a in (b,)", {"a": ""}, True),
    ("a in (b,,c)", {"a": ""}, True),
    ("a in (b,c)", {"a": ""}, False),
    ("a notin (x)", {}, True),
    ("a notin (x)", {"a": "x"}, False),
    ("a notin (x,y)", {"a": "y"}, False),
    ("a notin (x,y)", {"a": "z"}, True),
    ("a notin (x,y)", {}, True),
    ("a in (x,y)", {"b": "x"}, False),
    ("a notin ()", {}, True),
    ("a notin ()", {"a": ""}, False),
    ("a notin ()", {"a": "x"}, True),
    ("x notin (),y", {"y": ""}, True),
    ("x notin (),!y", {"y": ""}, False),
    ("notin=in", {"notin": "in"}, True),
    ("in in (in)", {"in": "in"}, True),
    ("a in (in,notin)", {"a": "notin"}, True),
    ("a\nin\n(b)", {"a": "b"}, True),
    ("a in(b)", {"a": "b"}, True),
    ("a=b,a=c", {"a": "b"}, False),
    ("a,!a", {}, False),
    ("a=b,a!=c", {"a": "b"}, True),
    ("example.com/app=web", {"example.com/app": "web"}, True),
    # Gt / Lt
    ("a>1", {"a": "2"}, True),
    ("a>1", {"a": "1"}, False),
    ("a<1", {"a": "1"}, False),
    ("a<1", {"a": "0"}, True),
    ("a>1", {}, False),
    ("a<1", {}, False),
    ("a<1", {"a": ""}, False),
    ("a>0", {"a": "01"}, True),
    ("a>01", {"a": "2"}, True),
    ("a<5", {"a": "-3"}, True),
    ("a<1", {"a": "-0"}, True),
    ("a>1", {"a": "+5"}, True),
    ("a>1", {"a": " 5"}, False),
    ("a>1", {"a": "5 "}, False),
    ("a>1", {"a": "1_000"}, False),
    ("a>1", {"a": "\uff15"}, False),
    ("a>1", {"a": "\u0665"}, False),
    ("a>1", {"a": "0x10"}, False),
    ("a>1", {"a": "1e3"}, False),
    ("a>1", {"a": "2.5"}, False),
    ("a>1", {"a": "v2"}, False),
    ("a>1", {"a": "+"}, False),
    ("a>1", {"a": "--5"}, False),
    ("a>9223372036854775806", {"a": "9223372036854775807"}, True),
    ("a>1", {"a": "9223372036854775808"}, False),
    ("a<1", {"a": "-9223372036854775808"}, True),
    ("a<1", {"a": "-9223372036854775809"}, False),
    ("a>1", {"a": "0" * 5000 + "2"}, True),
    ("a>1,a<3", {"a": "2"}, True),
    ("a>1,a<3", {"a": "3"}, False),
]


@pytest.mark.parametrize("text, labels, expected", MATCH_CASES)
def test_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    sel = parse_selector(text)
    assert sel.matches(labels) is expected
    assert matches(sel, labels) is expected
    assert matches(text, labels) is expected
    assert matches(sel, MappingProxyType(labels)) is expected
    assert _reference_match(sel, labels) is expected


def _go_int(text: str) -> Optional[int]:
    """An independent oracle for strconv.ParseInt(text, 10, 64)."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or any(c not in "0123456789" for c in body):
        return None
    n = 0
    for c in body:
        n = n * 10 + "0123456789".index(c)
        if n > 2**63:
            return None
    n = -n if text[0] == "-" else n
    return n if -(2**63) <= n < 2**63 else None


def _reference_match(sel: Selector, labels: dict[str, str]) -> bool:
    """Requirement.Matches written out as Go does it, to check the compiled matcher."""
    if sel.selects_nothing:
        return False
    for r in sel.requirements:
        has, value = r.key in labels, labels.get(r.key)
        if r.operator in ("=", "==", "in"):
            ok = has and value in r.values
        elif r.operator in ("!=", "notin"):
            ok = not has or value not in r.values
        elif r.operator == "exists":
            ok = has
        elif r.operator == "!":
            ok = not has
        else:
            n = _go_int(value) if has and value is not None else None
            bound = _go_int(r.values[0])
            assert bound is not None
            ok = n is not None and (n > bound if r.operator == "gt" else n < bound)
        if not ok:
            return False
    return True


@pytest.mark.parametrize(
    "text",
    ["0", "-0", "+0", "7", "+5", "-3", "007", "9223372036854775807", "-9223372036854775808",
     "9223372036854775808", "-9223372036854775809", "", "+", "-", " 5", "5 ", "1_0", "\uff15",
     "0x1", "1e3", "1.0", "+-1", "0" * 5000 + "9", "1" * 30],
)  # fmt: skip
def test_parse_int64_is_go_parseint(text: str) -> None:
    assert _parse_int64(text) == _go_int(text)


def test_matches_type_errors() -> None:
    sel = parse_selector("a")
    with pytest.raises(TypeError, match="selector must be a Selector or str, got dict"):
        matches({"matchLabels": {}}, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="labels must be a Mapping, got list"):
        matches(sel, ["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="label values must be str, got int"):
        matches("a>1", {"a": 5})  # type: ignore[dict-item]


def test_matches_text_reports_selector_error() -> None:
    with pytest.raises(SelectorError):
        matches("a in (", {})


# --- parse errors --------------------------------------------------------------------------------

# (selector, exact message, span). Messages are part of the interface.
PARSE_ERRORS = [
    ("x==a==b", "found '==', expected ',' or end of string", (4, 6)),
    ("!x=a", "found '=', expected ',' or end of string", (2, 3)),
    ("!a in (b)", "found 'in', expected ',' or end of string", (3, 5)),
    ("!a!=b", "found '!=', expected ',' or end of string", (2, 4)),
    ("a=b c", "found 'c', expected ',' or end of string", (4, 5)),
    ("a=b)", "found ')', expected ',' or end of string", (3, 4)),
    ("a in (1,2)>1", "found '>', expected ',' or end of string", (10, 11)),
    ("x,,y", "found ',', expected a label key or '!' after ','", (2, 3)),
    ("a=b, ,c", "found ',', expected a label key or '!' after ','", (5, 6)),
    ("a,", "found end of string, expected a label key or '!' after ','", (2, 3)),
    ("a=b,", "found end of string, expected a label key or '!' after ','", (4, 5)),
    (",x,y", "found ',', expected a label key, '!' or end of string", (0, 1)),
    ("(a)", "found '(', expected a label key, '!' or end of string", (0, 1)),
    ("! !a", "found '!', expected a label key after '!'", (2, 3)),
    ("!", "found end of string, expected a label key after '!'", (1, 2)),
    ("x nott in (y)", "found 'nott', expected an operator: in, notin, =, ==, !=, >, <", (2, 6)),
    ("a NOTIN (b)", "found 'NOTIN', expected an operator: in, notin, =, ==, !=, >, <", (2, 7)),
    ("a not in (b)", "found 'not', expected an operator: in, notin, =, ==, !=, >, <", (2, 5)),
    ("a!", "found '!', expected an operator: in, notin, =, ==, !=, >, <", (1, 2)),
    ("a b", "found 'b', expected an operator: in, notin, =, ==, !=, >, <", (2, 3)),
    ("a===b", "found '=', expected a value after '=='", (3, 4)),
    ("a=!b", "found '!', expected a value after '='", (2, 3)),
    ("a>=1", "found '=', expected a value after '>'", (2, 3)),
    ("a<=1", "found '=', expected a value after '<'", (2, 3)),
    ("a=>1", "found '>', expected a value after '='", (2, 3)),
    ("a in b", "found 'b', expected '(' after 'in'", (5, 6)),
    ("a in", "found end of string, expected '(' after 'in'", (4, 5)),
    ("a in [b]", "found '[b]', expected '(' after 'in'", (5, 8)),
    ("a in (b", "found end of string, expected ',' or ')'", (7, 8)),
    ("a in (b,", "found end of string, expected a value, ',' or ')'", (8, 9)),
    ("a in ((b))", "found '(', expected a value, ',' or ')'", (6, 7)),
    ("a in (b c)", "found 'c', expected ',' or ')'", (8, 9)),
    ("a>1.5", "value '1.5' for operator > must be a base-10 integer in the int64 range", (2, 5)),
    ("a>", "value '' for operator > must be a base-10 integer in the int64 range", (2, 3)),
    ("a<", "value '' for operator < must be a base-10 integer in the int64 range", (2, 3)),
    ("a>0x1", "value '0x1' for operator > must be a base-10 integer in the int64 range", (2, 5)),
    ("a>1_0", "value '1_0' for operator > must be a base-10 integer in the int64 range", (2, 5)),
    ("a>9223372036854775808",
     "value '9223372036854775808' for operator > must be a base-10 integer in the int64 range",
     (2, 21)),
    ("a>-1", "label value '-1': " + VALUE_CHARS, (2, 4)),
    ("a>+1", "label value '+1': " + VALUE_CHARS, (2, 4)),
    ("x=a||y=b", "label value 'a||y': " + VALUE_CHARS, (2, 6)),
    ("a in (b;c)", "label value 'b;c': " + VALUE_CHARS, (6, 9)),
    ("a in (ok,-bad)", "label value '-bad': " + VALUE_CHARS, (9, 13)),
    ('a="b"', "label value '\"b\"': " + VALUE_CHARS, (2, 5)),
    ("a=\u00e9", "label value '\u00e9': " + VALUE_CHARS, (2, 3)),
    ("a=" + "v" * 64, f"label value '{'v' * 64}': must be no more than 63 characters", (2, 66)),
    ("a-", "label key 'a-': " + NAME_CHARS, (0, 2)),
    ("a/b/c", "label key 'a/b/c': at most one '/' is allowed, between a DNS subdomain prefix "
     "and the name", (0, 5)),
    ("/a", "label key '/a': the prefix before '/' must not be empty", (0, 2)),
    ("a/", "label key 'a/': the name must not be empty", (0, 2)),
    ("a" * 64, f"label key '{'a' * 64}': the name must be no more than 63 characters", (0, 64)),
    ("\u000ba", "control character U+000B is not allowed in a selector", (0, 1)),
    ("a\u0000b", "control character U+0000 is not allowed in a selector", (1, 2)),
    ("\u0000", "control character U+0000 is not allowed in a selector", (0, 1)),
    ("a=b\u007f", "control character U+007F is not allowed in a selector", (3, 4)),
    ("a\u3000=b", "label key 'a\\u3000': " + NAME_CHARS, (0, 2)),
]  # fmt: skip


@pytest.mark.parametrize("text, message, span", PARSE_ERRORS)
def test_parse_errors(text: str, message: str, span: tuple[int, int]) -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector(text)
    assert info.value.message == message
    assert info.value.text == text
    assert info.value.span == span
    assert isinstance(info.value, ValueError)


def test_parse_error_draws_a_caret() -> None:
    with pytest.raises(SelectorError) as info:
        parse_selector("app=web,tier in (db")
    assert str(info.value) == (
        "found end of string, expected ',' or ')'\n    app=web,tier in (db\n" + " " * 23 + "^"
    )


@pytest.mark.parametrize("bad", [None, 1, b"a=b", ["a"]])
def test_parse_selector_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="selector must be str"):
        parse_selector(bad)


# --- canonical form ------------------------------------------------------------------------------

CANONICAL = [
    ("", ""),
    ("   ", ""),
    ("\t\r\n", ""),
    ("x=a,y=b,z=c", "x=a,y=b,z=c"),
    ("z=c,y=b,x=a", "x=a,y=b,z=c"),
    ("x=,z= ", "x=,z="),
    ("x= ,z= ", "x=,z="),
    ("\rx", "x"),
    ("b,!a", "!a,b"),
    ("foo  in\t (abc)", "foo in (abc)"),
    ("x  notin\t\t\t(abc,def)", "x notin (abc,def)"),
    ("x in (abc,)", "x in (,abc)"),
    ("x in (abc,abc)", "x in (abc)"),
    ("x in ()", "x in ()"),
    ("x in (a,,,)", "x in (,a)"),
    ("x in (a,,)", "x in (,a)"),  # fixed in Kubernetes 1.35; an error before
    ("x in (a,,,,,,)", "x in (,a)"),
    ("x in (,,)", "x in ()"),
    ("x notin (, a)", "x notin (,a)"),
    ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
    ("a==b", "a==b"),
    ("a!=1,a=2", "a!=1,a=2"),
    ("a=2,a!=1", "a=2,a!=1"),
    ("a,a", "a,a"),
    ("a in (B,a,b)", "a in (B,a,b)"),
    ("B=1,a=2", "B=1,a=2"),
    ("  a  =  b  ", "a=b"),
    ("a in ( b , c )", "a in (b,c)"),
    ("in in (in)", "in in (in)"),
    ("in", "in"),
    ("!notin", "!notin"),
    ("a>01", "a>01"),
    ("a>9223372036854775807", "a>9223372036854775807"),
    ("x in (c,b,a),y notin (z,y)", "x in (a,b,c),y notin (y,z)"),
    # stable sort: same-key requirements keep their input order even above 12 requirements
    ("b," + ",".join("a=%d" % i for i in range(1, 15)),
     ",".join("a=%d" % i for i in range(1, 15)) + ",b"),
]  # fmt: skip


@pytest.mark.parametrize("text, canonical", CANONICAL)
def test_canonical(text: str, canonical: str) -> None:
    sel = parse_selector(text)
    assert format_selector(sel) == canonical
    assert str(sel) == canonical
    assert parse_selector(canonical) == sel


def test_format_selector_type_error() -> None:
    with pytest.raises(TypeError, match="selector must be a Selector, got str"):
        format_selector("a=b")  # type: ignore[arg-type]


# --- Selector value semantics --------------------------------------------------------------------

EQUAL = [
    ("a=1,b=2", "b=2,a=1"),
    ("a=1, b=2", "b=2 ,a=1"),
    ("x in (c,b,a),!y", "!y,x in (a,b,c,a)"),
    ("", "   "),
    ("a in (b,)", "a in (,b)"),
]
UNEQUAL = [
    ("a=1", "a==1"),  # '==' is kept as written, so the canonical text differs
    ("a!=1,a=2", "a=2,a!=1"),  # same key: input order is kept
    ("a>1", "a>01"),
    ("a in (b)", "a=b"),
    ("a", "!a"),
]


@pytest.mark.parametrize("left, right", EQUAL)
def test_equal_selectors(left: str, right: str) -> None:
    a, b = parse_selector(left), parse_selector(right)
    assert a == b and hash(a) == hash(b) and str(a) == str(b)
    assert len({a, b}) == 1


@pytest.mark.parametrize("left, right", UNEQUAL)
def test_unequal_selectors(left: str, right: str) -> None:
    assert parse_selector(left) != parse_selector(right)


def test_nothing_and_everything() -> None:
    nothing, everything = selector_from_dict(None), parse_selector("")
    assert nothing != everything and hash(nothing) != hash(everything)
    assert str(nothing) == str(everything) == ""
    assert nothing.matches({}) is False and everything.matches({}) is True
    assert nothing == Selector(selects_nothing=True) and everything == Selector()
    assert Selector((Requirement("a", "exists"),), selects_nothing=True) == nothing
    assert repr(nothing) == "<Selector nothing>"
    assert repr(parse_selector("b,a")) == "<Selector 'a,b'>"


def test_selector_is_immutable() -> None:
    sel = parse_selector("a=b")
    with pytest.raises(AttributeError):
        sel.requirements = ()
    with pytest.raises(AttributeError):
        sel.requirements[0].key = "c"


IMMUTABLE_OBJECTS: list[tuple[Any, str, str]] = [
    (parse_selector("a=b"), "requirements", "Selector"),
    (parse_selector("a=b"), "selects_nothing", "Selector"),
    (parse_selector("a=b"), "matches", "Selector"),
    (parse_selector("a=b"), "new_attribute", "Selector"),
    (Requirement("a", "=", ("b",)), "key", "Requirement"),
    (Requirement("a", "=", ("b",)), "values", "Requirement"),
    (Requirement("a", "=", ("b",)), "new_attribute", "Requirement"),
]


@pytest.mark.parametrize("obj, name, kind", IMMUTABLE_OBJECTS)
def test_no_attribute_can_be_set_or_deleted(obj: Any, name: str, kind: str) -> None:
    before = repr(obj)
    with pytest.raises(AttributeError, match=f"^cannot assign to '{name}': {kind} is immutable$"):
        setattr(obj, name, None)
    with pytest.raises(AttributeError, match=f"^cannot delete '{name}': {kind} is immutable$"):
        delattr(obj, name)
    assert repr(obj) == before and obj == copy.copy(obj)


REQUIREMENT_REPRS = [
    (Requirement("a", "exists"), "Requirement(key='a', operator='exists', values=())"),
    (Requirement("env", "notin", ("qa", "dev", "qa")),
     "Requirement(key='env', operator='notin', values=('dev', 'qa'))"),
    (Requirement("n", "gt", ["5"]), "Requirement(key='n', operator='gt', values=('5',))"),  # type: ignore[arg-type]
]  # fmt: skip


@pytest.mark.parametrize("req, text", REQUIREMENT_REPRS)
def test_requirement_repr_pickle_and_copy(req: Requirement, text: str) -> None:
    assert repr(req) == text
    for clone in (pickle.loads(pickle.dumps(req)), copy.copy(req), copy.deepcopy(req)):
        assert type(clone) is Requirement and clone == req and hash(clone) == hash(req)
        assert repr(clone) == text


REQUIREMENT_EQUALITY = [
    (Requirement("a", "in", ("y", "x")), Requirement("a", "in", ("x", "y", "x")), True),
    (Requirement("a", "=", ("1",)), _make_requirement("a", "=", ("1",)), True),
    (Requirement("a", "=", ("1",)), Requirement("a", "==", ("1",)), False),
    (Requirement("a", "=", ("1",)), Requirement("b", "=", ("1",)), False),
    (Requirement("a", "=", ("1",)), Requirement("a", "=", ("2",)), False),
    (Requirement("a", "in", ("1",)), Requirement("a", "=", ("1",)), False),
    (Requirement("a", "exists"), "a", False),
    (Requirement("a", "exists"), ("a", "exists", ()), False),
    (Selector(), parse_selector(""), True),
    (Selector(), "", False),
    (Selector(), (), False),
    (selector_from_dict(None), Selector(selects_nothing=True), True),
    (selector_from_dict(None), Selector(), False),
]  # fmt: skip


@pytest.mark.parametrize("left, right, equal", REQUIREMENT_EQUALITY)
def test_equality(left: Any, right: Any, equal: bool) -> None:
    assert (left == right) is equal and (right == left) is equal
    assert (left != right) is not equal
    if equal:
        assert hash(left) == hash(right) and len({left, right}) == 1


def test_unused_selectors_are_freed_without_the_cycle_collector() -> None:
    # The compile-on-first-use stand-in holds its selector weakly: dropping the last reference
    # frees the selector at once. A stand-in kept from before still matches afterwards.
    gc.disable()
    try:
        sel = parse_selector("app=web,tier!=db")
        stand_in, ref = sel.matches, weakref.ref(sel)
        del sel
        assert ref() is None
        assert stand_in({"app": "web"}) is True and stand_in({"app": "web", "tier": "db"}) is False
        used = parse_selector("app=web,tier!=db")
        assert used.matches({"app": "web"}) is True  # installs the compiled function
        ref = weakref.ref(used)
        del used
        assert ref() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("text", ["", "a=b,c in (d,e),!f,g>5,h notin (,i)"])
def test_selector_pickle_and_copy(text: str) -> None:
    sel = parse_selector(text)
    for clone in (pickle.loads(pickle.dumps(sel)), copy.copy(sel), copy.deepcopy(sel)):
        assert clone == sel
        assert clone.matches({"a": "b", "c": "d", "g": "6"}) is sel.matches(
            {"a": "b", "c": "d", "g": "6"}
        )
    nothing = pickle.loads(pickle.dumps(selector_from_dict(None)))
    assert nothing.selects_nothing and not nothing.matches({})


def test_selector_from_requirements() -> None:
    reqs: Any = [Requirement("b", "exists"), Requirement("a", "in", ["y", "x", "y"])]  # type: ignore[arg-type]
    sel = Selector(reqs)  # a list is accepted too
    assert str(sel) == "a in (x,y),b"
    assert sel == parse_selector("b,a in (x,y)")
    assert sel.requirements[0].values == ("x", "y")


REQUIREMENT_ERRORS = [
    (("a-", "exists", ()), SelectorError, "label key 'a-': " + NAME_CHARS),
    (("a", "in", ()), SelectorError, "operator in needs at least one value"),
    (("a", "=", ("x", "y")), SelectorError, "operator = takes exactly one value, got 2"),
    (("a", "exists", ("x",)), SelectorError, "operator exists takes no values, got 1"),
    (("a", "gt", ("x",)), SelectorError,
     "value 'x' for operator gt must be a base-10 integer in the int64 range"),
    (("a", "gt", ("1", "2")), SelectorError, "operator gt takes exactly one value, got 2"),
    (("a", "Equals", ("x",)), SelectorError,
     "unknown operator 'Equals' (expected one of: =, ==, !=, in, notin, exists, !, gt, lt)"),
    (("a", "in", ("-x",)), SelectorError, "label value '-x': " + VALUE_CHARS),
    ((1, "exists", ()), TypeError, "Requirement.key must be str, got int"),
    (("a", "in", "xy"), TypeError, "Requirement.values must be a sequence of str, not a str"),
    (("a", "in", (1,)), TypeError, r"Requirement.values\[\] must be str, got int"),
]  # fmt: skip


@pytest.mark.parametrize("args, error, message", REQUIREMENT_ERRORS)
def test_requirement_errors(args: tuple[Any, ...], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        Requirement(*args)
    if isinstance(info.value, SelectorError):
        assert info.value.message == message
    else:
        assert str(info.value) == message.replace("\\", "")


def test_selector_type_errors() -> None:
    with pytest.raises(TypeError, match="requirements must be Requirement, got str"):
        Selector(("a",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="selects_nothing must be a bool"):
        Selector((), 1)  # type: ignore[arg-type]


def test_compiled_matcher_never_writes_unchecked_text_into_code() -> None:
    # Requirements that bypass validation reach the generated code as closure cells only.
    odd = (
        _make_requirement("k'); import os; ('", "=", ("v\n",)),
        _make_requirement("s", "in", ("a b", "c")),
    )
    match = _compile(_specs(odd))
    assert match.__code__.co_freevars
    assert match({"k'); import os; ('": "v\n", "s": "a b"}) is True
    assert match({"k'); import os; ('": "v\n", "s": "zz"}) is False


def test_compiled_matcher_uses_constants_for_valid_selectors() -> None:
    sel = parse_selector("app=web,env in (prod,staging),tier!=db,x>5,!y,z")
    stand_in = sel.matches
    assert stand_in({"app": "web", "env": "prod", "x": "6", "z": ""}) is True  # compiles
    assert sel.matches is not stand_in and sel.matches.__code__.co_freevars == ()
    assert stand_in({"app": "web", "env": "qa", "x": "6", "z": ""}) is False
    again = parse_selector("z,!y,x>5,tier!=db,env in (staging,prod),app=web")
    again.matches({})
    assert again.matches is sel.matches  # compiled once per distinct selector
    assert frozenset({"prod", "staging"}) in sel.matches.__code__.co_consts


# --- str subclasses: read as their characters, never trusted -----------------------------------

#: Set by the payload below if it ever runs.
PWNED: list[str] = []
INJECTION = "__import__('tests.test_labels', fromlist=['x']).PWNED.append('ran') or 'app'"


EXPECTED_OPERATOR = "expected an operator: in, notin, =, ==, !=, >, <"


class Evil(str):
    """A str whose methods lie: code for repr(), equal to and hashing like anything."""

    calls: list[str] = []

    def __repr__(self) -> str:
        Evil.calls.append("__repr__")
        return INJECTION

    def __eq__(self, other: object) -> bool:
        Evil.calls.append("__eq__")
        return True

    def __ne__(self, other: object) -> bool:
        Evil.calls.append("__ne__")
        return False

    def __hash__(self) -> int:
        Evil.calls.append("__hash__")
        return hash("app=web")

    def partition(self, sep: Any) -> Any:
        Evil.calls.append("partition")
        return ("app", "", "")

    def __len__(self) -> int:
        Evil.calls.append("__len__")
        return 3


def _build_with_evil(how: str) -> Any:
    """A function building a Selector from Evil strs made (and hashed, for a dict) up front."""
    if how == "Requirement":
        args: Any = (Evil("app"), Evil("="), (Evil("web"),))
        return lambda: Selector((Requirement(*args),))
    if how == "Requirement in":
        args = (Evil("app"), Evil("in"), [Evil("web"), Evil("api")])
        return lambda: Selector((Requirement(*args),))
    if how == "matchLabels":
        doc: Any = {"matchLabels": {Evil("app"): Evil("web")}}
        return lambda: selector_from_dict(doc)
    if how == "matchExpressions":
        expr = {"key": Evil("app"), "operator": Evil("In"), "values": [Evil("web"), Evil("api")]}
        doc = {"matchExpressions": [expr]}
        return lambda: selector_from_dict(doc)
    if how == "parse_selector":
        text = Evil("app in (web,api)")
        return lambda: parse_selector(text)
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    ["Requirement", "Requirement in", "matchLabels", "matchExpressions", "parse_selector"],
)
def test_str_subclass_is_read_as_plain_text_and_never_run(how: str) -> None:
    build = _build_with_evil(how)
    PWNED.clear()
    Evil.calls.clear()
    _compile_cached.cache_clear()
    sel = build()
    for req in sel.requirements:
        assert type(req.key) is str and type(req.operator) is str
        assert all(type(v) is str for v in req.values)
    assert sel.matches({"app": "web"}) is True
    assert sel.matches({"app": "db"}) is False
    assert sel.matches({}) is False
    clean = parse_selector("app=web")
    assert clean.matches({"app": "web"}) is True
    assert clean.matches({"app": "db"}) is False
    assert clean.matches.__code__.co_consts[1:] == ("app", "web")  # constants, no cells
    assert PWNED == [] and Evil.calls == []


def test_str_subclass_text_does_not_poison_the_parse_cache() -> None:
    PWNED.clear()
    Evil.calls.clear()
    _parse_cached.cache_clear()
    assert matches(Evil("app=db"), {"app": "db"}) is True
    assert matches("app=web", {"app": "web"}) is True  # Evil hashes and compares like this
    assert matches("app=web", {"app": "db"}) is False
    assert Evil.calls == []


class EvilRequirement(Requirement):
    """A Requirement subclass claiming to equal (and hash like) any requirement."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash(Requirement("app", "=", ("web",)))


def test_requirement_subclass_does_not_poison_the_compile_cache() -> None:
    _compile_cached.cache_clear()
    liar = Selector((EvilRequirement("app", "=", ("db",)),))
    assert liar.matches({"app": "db"}) is True
    assert liar.matches({"app": "web"}) is False
    clean = parse_selector("app=web")
    assert clean.matches({"app": "web"}) is True
    assert clean.matches({"app": "db"}) is False


@pytest.mark.parametrize(
    "check, text, error, message",
    [
        (validate_key, "a b", LabelError, f"label key 'a b': {NAME_CHARS}"),
        (validate_value, "a b", LabelError, f"label value 'a b': {VALUE_CHARS}"),
        (parse_labels, "a b=c", LabelError, f"label key 'a b': {NAME_CHARS}"),
        (parse_selector, "a b", SelectorError, "found 'b', " + EXPECTED_OPERATOR),
    ],
)
def test_str_subclass_methods_cannot_pass_validation(
    check: Any, text: str, error: type, message: str
) -> None:
    Evil.calls.clear()
    with pytest.raises(error) as info:
        check(Evil(text))
    assert info.value.message == message
    assert Evil.calls == []


def test_requirement_from_str_subclass_equals_plain_one() -> None:
    Evil.calls.clear()
    plain = Requirement("app", "in", ("web", "api"))
    sub = Requirement(Evil("app"), Evil("in"), (Evil("web"), Evil("api")))
    assert sub == plain and hash(sub) == hash(plain)
    assert repr(sub) == "Requirement(key='app', operator='in', values=('api', 'web'))"
    assert Evil.calls == []


# --- label keys and values -----------------------------------------------------------------------

VALID_KEYS = ["simple", "now-with-dashes", "1234", "simple/simple",
              "now-with.dashes-and.dots/simple", "1.2.3.4/5678", "Uppercase_Is_OK_123", "A", "0",
              "a_b", "app.kubernetes.io/name", "example.com/A", "a" * 63,
              "p" * 253 + "/" + "n" * 63, "x" * 64 + "/b", "in", "notin"]  # fmt: skip
KEY_ERRORS = [
    ("", "the name must not be empty"),
    ("cantendwithadash-", NAME_CHARS),
    ("_a", NAME_CHARS),
    ("a_", NAME_CHARS),
    ("a.", NAME_CHARS),
    ("a b", NAME_CHARS),
    ("a\t", NAME_CHARS),
    ("a\n", NAME_CHARS),
    ("a\x00b", NAME_CHARS),
    ("\u00e9", NAME_CHARS),
    ("a" * 64, "the name must be no more than 63 characters"),
    ("a/" + "b" * 64, "the name must be no more than 63 characters"),
    ("example.com/", "the name must not be empty"),
    ("/a", "the prefix before '/' must not be empty"),
    ("a/b/c", "at most one '/' is allowed, between a DNS subdomain prefix and the name"),
    ("a" * 254 + "/b", "the prefix must be no more than 253 characters"),
    ("Example.com/abc", "the prefix must be a lowercase DNS subdomain: dot-separated parts of a-z, "
     "0-9 and '-', each starting and ending with a letter or digit"),
]  # fmt: skip
_PREFIX_RULE = KEY_ERRORS[-1][1]
KEY_ERRORS += [(k, _PREFIX_RULE) for k in ["EXAMPLE.COM/a", "-example.com/a", "example.com./a",
                                           "example_com/a", "a..b/c", "a-/b"]]  # fmt: skip
VALID_VALUES = ["", "simple", "1234", "a" * 63, "a", "MyValue", "my_value", "v1.0.0", "1.2.3",
                "a_b-c.d", "0"]  # fmt: skip
VALUE_ERRORS = [
    ("a" * 64, "must be no more than 63 characters"),
    ("Tama-nui-te-r\u0101.is.M\u0101ori.sun", VALUE_CHARS),
    ("\\backslashes\\are\\bad", VALUE_CHARS),
    ("-starts-with-dash", VALUE_CHARS),
    ("ends.with.dot.", VALUE_CHARS),
    (" ", VALUE_CHARS),
    ("a b", VALUE_CHARS),
    ("a\n", VALUE_CHARS),
    ("\n", VALUE_CHARS),
    ("a_", VALUE_CHARS),
    ("a:b", VALUE_CHARS),
    ("a,b", VALUE_CHARS),
    ("a/b", VALUE_CHARS),
    ("\u00e9", VALUE_CHARS),
    ("a\x00", VALUE_CHARS),
    ("\uff15", VALUE_CHARS),
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_valid_keys(key: str) -> None:
    validate_key(key)
    assert parse_selector(key).requirements[0].key == key


@pytest.mark.parametrize("key, rule", KEY_ERRORS)
def test_key_errors(key: str, rule: str) -> None:
    with pytest.raises(LabelError) as info:
        validate_key(key)
    assert info.value.message == f"label key {key!r}: {rule}"


@pytest.mark.parametrize("value", VALID_VALUES)
def test_valid_values(value: str) -> None:
    validate_value(value)
    assert parse_selector("k in (%s)" % value).matches({"k": value})


@pytest.mark.parametrize("value, rule", VALUE_ERRORS)
def test_value_errors(value: str, rule: str) -> None:
    with pytest.raises(LabelError) as info:
        validate_value(value)
    assert info.value.message == f"label value {value!r}: {rule}"


@pytest.mark.parametrize(
    "check, what", [(validate_key, "label key"), (validate_value, "label value")]
)
def test_validate_type_errors(check: Any, what: str) -> None:
    with pytest.raises(TypeError, match=f"{what} must be str, got NoneType"):
        check(None)


# --- parse_labels (the CLI's --labels) -----------------------------------------------------------

LABEL_LISTS = [
    ("", {}),
    ("  ", {}),
    ("a=b", {"a": "b"}),
    ("a=b,c=d", {"a": "b", "c": "d"}),
    ("a=b, c = d ", {"a": "b", "c": "d"}),
    ("a=", {"a": ""}),
    ("example.com/app=web,tier=", {"example.com/app": "web", "tier": ""}),
]
LABEL_LIST_ERRORS = [
    ("a", "label 'a': expected key=value", (0, 1)),
    ("a=b,,c=d", "label '': expected key=value", (4, 4)),
    ("a=b,", "label '': expected key=value", (4, 4)),
    ("a=b,a=c", "label key 'a' is given twice", (4, 7)),
    ("-a=b", "label key '-a': " + NAME_CHARS, (0, 4)),
    ("a=b,c=-d", "label value '-d': " + VALUE_CHARS, (4, 8)),
    ("a=b=c", "label value 'b=c': " + VALUE_CHARS, (0, 5)),
    ("=b", "label key '': the name must not be empty", (0, 2)),
]


@pytest.mark.parametrize("text, expected", LABEL_LISTS)
def test_parse_labels(text: str, expected: dict[str, str]) -> None:
    assert parse_labels(text) == expected


@pytest.mark.parametrize("text, message, span", LABEL_LIST_ERRORS)
def test_parse_labels_errors(text: str, message: str, span: tuple[int, int]) -> None:
    with pytest.raises(LabelError) as info:
        parse_labels(text)
    assert (info.value.message, info.value.text, info.value.span) == (message, text, span)


# --- structured selectors (metav1.LabelSelector) -------------------------------------------------


def _expr(**fields: Any) -> dict[str, Any]:
    return {"matchExpressions": [fields]}


IN_BAZ = {"key": "baz", "operator": "In", "values": ["qux", "norf"]}
DICT_CANONICAL: list[tuple[Any, str]] = [
    ({}, ""),
    ({"matchLabels": None, "matchExpressions": None}, ""),
    ({"matchLabels": {}, "matchExpressions": []}, ""),
    ({"matchLabels": {"foo": "bar"}}, "foo=bar"),
    ({"matchLabels": {"b": "1", "a": "2"}}, "a=2,b=1"),
    ({"matchExpressions": [IN_BAZ]}, "baz in (norf,qux)"),
    ({"matchLabels": {"foo": "bar"}, "matchExpressions": [IN_BAZ]}, "baz in (norf,qux),foo=bar"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, "a"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": []}]}, "a"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": None}]}, "a"),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, "!a"),
    (_expr(key="a", operator="NotIn", values=["z", "y"]), "a notin (y,z)"),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": [""]}]}, "a in ()"),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "x"]}]}, "a in (x)"),
    ({"matchLabels": {"a": ""}}, "a="),
    # matchLabels come first among same-key requirements, then expressions in order
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}],
      "matchLabels": {"a": "b"}}, "a=b,a notin (b)"),
]  # fmt: skip


@pytest.mark.parametrize("doc, canonical", DICT_CANONICAL)
def test_selector_from_dict(doc: Any, canonical: str) -> None:
    sel = selector_from_dict(doc)
    assert str(sel) == canonical
    assert parse_selector(canonical) == sel
    assert selector_from_dict(MappingProxyType(doc)) == sel


DICT_MATCH = [
    (None, {}, False),
    (None, {"a": "b"}, False),
    ({}, {"a": "b"}, True),
    ({"matchLabels": {"foo": "bar"}}, {"foo": "bar", "x": "y"}, True),
    ({"matchLabels": {"foo": "bar"}}, {"foo": "baz"}, False),
    ({"matchLabels": {"foo": "bar"}, "matchExpressions": [IN_BAZ]},
     {"foo": "bar", "baz": "norf"}, True),
    ({"matchLabels": {"foo": "bar"}, "matchExpressions": [IN_BAZ]}, {"foo": "bar"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
    ({"matchLabels": {"a": ""}}, {}, False),
    ({"matchLabels": {"a": "b"},
      "matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}, {"a": "b"}, False),
]  # fmt: skip


@pytest.mark.parametrize("doc, labels, expected", DICT_MATCH)
def test_selector_from_dict_matches(doc: Any, labels: dict[str, str], expected: bool) -> None:
    assert matches(selector_from_dict(doc), labels) is expected


DICT_ERRORS = [
    (_expr(key="baz", operator="Exists", values=["qux"]),
     "matchExpressions[0].values: operator Exists takes no values, got 1"),
    (_expr(key="a", operator="DoesNotExist", values=["x", "y"]),
     "matchExpressions[0].values: operator DoesNotExist takes no values, got 2"),
    (_expr(key="a", operator="In", values=[]),
     "matchExpressions[0].values: operator In needs at least one value"),
    (_expr(key="a", operator="NotIn"),
     "matchExpressions[0].values: operator NotIn needs at least one value"),
    (_expr(key="a", operator="in", values=["x"]), "matchExpressions[0].operator: 'in' is not a "
     "label selector operator (expected In, NotIn, Exists, DoesNotExist)"),
    (_expr(key="a", operator="Lt", values=["1"]), "matchExpressions[0].operator: 'Lt' is not a "
     "label selector operator (expected In, NotIn, Exists, DoesNotExist)"),
    (_expr(key="a", operator=""), "matchExpressions[0].operator: '' is not a "
     "label selector operator (expected In, NotIn, Exists, DoesNotExist)"),
    (_expr(key="a", operator="Equals", values=["x"]), "matchExpressions[0].operator: 'Equals' is "
     "not a label selector operator (expected In, NotIn, Exists, DoesNotExist)"),
    (_expr(key="", operator="Exists"),
     "matchExpressions[0].key: label key '': the name must not be empty"),
    (_expr(key="Example.com/a", operator="Exists"),
     "matchExpressions[0].key: label key 'Example.com/a': " + _PREFIX_RULE),
    (_expr(key="a", operator="In", values=["ok", "no/slash"]),
     "matchExpressions[0].values[1]: label value 'no/slash': " + VALUE_CHARS),
    (_expr(operator="Exists"), "matchExpressions[0].key: required"),
    (_expr(key="a"), "matchExpressions[0].operator: required"),
    (_expr(key=1, operator="Exists"), "matchExpressions[0].key: expected a string, got int"),
    (_expr(key="a", operator=["In"]), "matchExpressions[0].operator: expected a string, got list"),
    (_expr(key="a", operator="In", values="x"),
     "matchExpressions[0].values: expected a list, got str"),
    (_expr(key="a", operator="In", values=[1]),
     "matchExpressions[0].values[0]: expected a string, got int"),
    (_expr(key="a", operator="Exists", value=[]),
     "matchExpressions[0]: unknown field 'value' (expected key, operator or values)"),
    ({"matchExpressions": ["a"]}, "matchExpressions[0]: expected an object, got str"),
    ({"matchExpressions": {}}, "matchExpressions: expected a list, got object"),
    ({"matchLabels": {"example.com/app": "v" * 64}},
     "matchLabels['example.com/app']: label value '" + "v" * 64
     + "': must be no more than 63 characters"),
    ({"matchLabels": {"a" * 64: "x"}},
     "matchLabels['" + "a" * 64 + "']: label key '" + "a" * 64
     + "': the name must be no more than 63 characters"),
    ({"matchLabels": {"-a": "b"}}, "matchLabels['-a']: label key '-a': " + NAME_CHARS),
    ({"matchLabels": {"a": "b c"}}, "matchLabels['a']: label value 'b c': " + VALUE_CHARS),
    ({"matchLabels": {"a": 1}}, "matchLabels['a']: expected a string, got int"),
    ({"matchLabels": {"a": None}}, "matchLabels['a']: expected a string, got null"),
    ({"matchLabels": {1: "a"}}, "matchLabels[1]: keys must be strings, got int"),
    ({"matchLabels": []}, "matchLabels: expected an object, got list"),
    ({"matchLabel": {"a": "b"}},
     "unknown field 'matchLabel' (expected matchLabels or matchExpressions)"),
]  # fmt: skip


@pytest.mark.parametrize("doc, message", DICT_ERRORS)
def test_selector_from_dict_errors(doc: Any, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        selector_from_dict(doc)
    assert info.value.message == message
    assert str(info.value) == message


@pytest.mark.parametrize("bad", ["a=b", [], 1])
def test_selector_from_dict_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="label selector must be a Mapping or None"):
        selector_from_dict(bad)


# --- properties ----------------------------------------------------------------------------------

SELECTOR_ALPHABET = st.sampled_from(
    list("ab9_.-/ =!(),<>\t\n\rinot") + ["in", "notin", "\x00", "\u00e9"]
)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_text_parses_or_raises_selector_error(text: str) -> None:
    try:
        sel = parse_selector(text)
    except SelectorError as exc:
        assert exc.text == text and exc.span is not None
        assert 0 <= exc.span[0] <= len(text)
        return
    assert parse_selector(format_selector(sel)) == sel


@settings(max_examples=600, deadline=None)
@given(st.lists(SELECTOR_ALPHABET, max_size=30).map("".join))
def test_selector_like_text_round_trips(text: str) -> None:
    try:
        sel = parse_selector(text)
    except SelectorError:
        return
    canonical = format_selector(sel)
    again = parse_selector(canonical)
    assert again == sel and format_selector(again) == canonical


KEYS = st.sampled_from(["a", "b", "in", "notin", "example.com/x", "A1"])
VALUES = st.sampled_from(["", "x", "y", "in", "1", "02", "9223372036854775807"])


@st.composite
def requirement_texts(draw: Any) -> str:
    key: str = draw(KEYS)
    kind: str = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!", ">", "<"]))
    if kind == "exists":
        return key
    if kind == "!":
        return "!" + key
    if kind in ("in", "notin"):
        values: list[str] = draw(st.lists(VALUES, max_size=4))
        return "%s %s (%s)" % (key, kind, ",".join(values))
    if kind in (">", "<"):
        bound: str = draw(st.sampled_from(["0", "1", "05", "9223372036854775807"]))
        return key + kind + bound
    value: str = draw(VALUES)
    return key + kind + value


LABEL_SETS = st.dictionaries(KEYS, st.sampled_from(["", "x", "y", "1", "2", "+3", " 1", "-1"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(requirement_texts(), max_size=6), st.permutations(range(6)), LABEL_SETS)
def test_generated_selectors(reqs: list[str], order: list[int], labels: dict[str, str]) -> None:
    text = ",".join(reqs)
    sel = parse_selector(text)
    assert parse_selector(format_selector(sel)) == sel
    assert sel.matches(labels) is _reference_match(sel, labels)
    # the same requirements in another order: equal whenever same-key order is unchanged
    shuffled = [reqs[i] for i in order if i < len(reqs)]
    other = parse_selector(",".join(shuffled))
    assert other.matches(labels) is sel.matches(labels)
    if [str(r) for r in other.requirements] == [str(r) for r in sel.requirements]:
        assert other == sel and hash(other) == hash(sel)


# --- the shared Kubernetes conformance cases, and the package boundary ---------------------------


@pytest.mark.skipif(not SHARED_CASES.exists(), reason="../shared/conformance not present")
def test_shared_conformance_cases() -> None:
    proc = subprocess.run(
        [sys.executable, str(SHARED_CASES.parent / "run.py"), "labels.json", "-v"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith(" 0 failed")


def test_import_loads_no_crypto() -> None:
    code = (
        "import sys, kpkilite.labels as m; m.matches('a=b', {'a': 'b'}); "
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('oscrypto', 'asn1crypto')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# The import-time budget (no slower than cronsim) rules these out; ``typing`` comes with
# kpkilite.errors and is not counted here.
HEAVY_MODULES = ["dataclasses", "inspect", "ast", "dis", "tokenize", "weakref", "copy"]


def test_import_and_first_match_load_no_heavy_module() -> None:
    code = (
        "import sys; before = set(sys.modules); import kpkilite.labels as m; "
        "m.parse_selector('a in (b,c),d>1').matches({'a': 'b', 'd': '2'}); "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.split()
    assert "kpkilite.labels" in loaded
    assert [name for name in HEAVY_MODULES if name in loaded] == []


def test_module_imports_only_the_standard_library() -> None:
    tree = ast.parse((ROOT / "kpkilite" / "labels.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in sys.stdlib_module_names, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert node.module == "errors", node.module
            else:
                assert node.module and node.module.split(".")[0] in sys.stdlib_module_names


# --- the CLI (kpkilite selector) -----------------------------------------------------------------


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "kpkilite", "selector", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


CLI_CASES = [
    (["app=web", "--labels", "app=web,tier=db"], 0, "true\n"),
    (["app=web,tier!=db", "--labels", "app=web,tier=db"], 1, "false\n"),
    (["!canary", "--labels", ""], 0, "true\n"),
    (["a>1", "--labels", "a=05"], 0, "true\n"),
]


@pytest.mark.parametrize("args, code, out", CLI_CASES)
def test_cli_selector(args: list[str], code: int, out: str) -> None:
    proc = _cli(*args)
    assert (proc.returncode, proc.stdout) == (code, out), proc.stderr


def test_cli_selector_errors() -> None:
    proc = _cli("a in (b", "--labels", "a=b")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "found end of string, expected ',' or ')'\n    a in (b\n           ^" in proc.stderr
    proc = _cli("a", "--labels", "a=b,,c=d")
    assert proc.returncode == 2 and "label '': expected key=value" in proc.stderr
    proc = _cli("a>1", "--labels", "a=+5")  # '+5' parses as an int but is no label value
    assert proc.returncode == 2 and "label value '+5'" in proc.stderr


def test_cli_selector_labels_json(tmp_path: Path) -> None:
    doc = tmp_path / "pod.json"
    doc.write_text(json.dumps({"metadata": {"labels": {"app": "web", "env": "prod"}}}))
    assert _cli("env in (prod,staging)", "--labels-json", str(doc)).returncode == 0
    assert _cli("env notin (prod)", "--labels-json", str(doc)).returncode == 1


# --- the user docs -------------------------------------------------------------------------------


def test_docs_examples() -> None:
    import doctest

    result = doctest.testfile(
        str(ROOT / "docs" / "labels.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 20
    assert result.failed == 0
