"""Kubernetes label selectors and label validation, as apimachinery does them.

The semantics are those of apimachinery ``pkg/labels`` (``labels.Parse``,
``Requirement.Matches``, ``Selector.String``), ``metav1.LabelSelectorAsSelector``
and the label rules ``IsQualifiedName`` / ``IsValidLabelValue``. Stdlib only.

String grammar (whitespace is space, tab, CR and LF only)::

    selector    = [ requirement { "," requirement } ]
    requirement = [ "!" ] KEY                            exists / does not exist
                | KEY ( "=" | "==" | "!=" ) [ VALUE ]    a missing VALUE is ""
                | KEY ( ">" | "<" ) INTEGER              base-10 int64, also a valid VALUE
                | KEY ( "in" | "notin" ) "(" list ")"
    list        = [ VALUE ] { "," [ VALUE ] }           an empty slot is the value ""

Tokens: ``!=`` ``==`` ``=`` ``!`` ``(`` ``)`` ``,`` ``<`` ``>``; anything else up
to the next one of those or whitespace is one identifier (a key or a value).
``in``/``notin`` are operators only right after a key. Keys and values must
follow the label rules (see :func:`validate_key`, :func:`validate_value`).

Matching: ``=``, ``==``, ``in``, ``>``, ``<`` need the key; ``!=`` and ``notin``
also hold when it is absent. ``>``/``<`` compare label values parsed as Go's
``strconv.ParseInt(v, 10, 64)`` would; any other value does not match.

>>> sel = parse_selector("tier!=db, app=web, env in (staging,prod)")
>>> str(sel)
'app=web,env in (prod,staging),tier!=db'
>>> matches(sel, {"app": "web", "env": "prod"})
True
>>> sel.matches({"app": "web", "env": "dev"})
False
"""

from __future__ import annotations

import functools
import re
from _weakref import ref as _weakref  # what weakref.ref is, without importing weakref.py
from collections.abc import Callable, Mapping

from .errors import LabelError, SelectorError

# Import time is part of this module's interface (no slower than cronsim): no dataclasses
# (which loads inspect, ast, dis, tokenize), and typing only for the type checker. mypy treats
# any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "Requirement",
    "Selector",
    "format_selector",
    "matches",
    "parse_labels",
    "parse_selector",
    "selector_from_dict",
    "validate_key",
    "validate_value",
]

LabelsMapping = Mapping[str, str]

# --- label rules (apimachinery pkg/util/validation: IsQualifiedName, IsValidLabelValue) ---------

# Qualified name part and label value alphabet: "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]",
# at most 63 characters; a value may also be empty.
_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_NAME_MAX = 63
# Key prefix: a lowercase RFC 1123 DNS subdomain, checked as a whole (<= 253 characters):
# "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*".
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_PREFIX_MAX = 253

_ALNUM_RULE = (
    "alphanumerics (A-Z, a-z, 0-9), '-', '_' and '.', starting and ending with an alphanumeric"
)
_KEY_SLASHES = "at most one '/' is allowed, between a DNS subdomain prefix and the name"
_PREFIX_EMPTY = "the prefix before '/' must not be empty"
_PREFIX_LONG = f"the prefix must be no more than {_PREFIX_MAX} characters"
_PREFIX_CHARS = (
    "the prefix must be a lowercase DNS subdomain: dot-separated parts of a-z, 0-9 and '-', "
    "each starting and ending with a letter or digit"
)
_NAME_EMPTY = "the name must not be empty"
_NAME_LONG = f"the name must be no more than {_NAME_MAX} characters"
_NAME_CHARS = "the name must consist of " + _ALNUM_RULE
_VALUE_LONG = f"must be no more than {_NAME_MAX} characters"
_VALUE_CHARS = "must be empty or consist of " + _ALNUM_RULE


def _key_problem(key: str) -> str | None:
    """The label-key rule ``key`` breaks, or None."""
    prefix, slash, name = key.partition("/")
    if slash:
        if "/" in name:
            return _KEY_SLASHES
        if not prefix:
            return _PREFIX_EMPTY
        if len(prefix) > _PREFIX_MAX:
            return _PREFIX_LONG
        if _DNS_SUBDOMAIN.fullmatch(prefix) is None:
            return _PREFIX_CHARS
    else:
        name = prefix
    if not name:
        return _NAME_EMPTY
    if len(name) > _NAME_MAX:
        return _NAME_LONG
    if _NAME.fullmatch(name) is None:
        return _NAME_CHARS
    return None


def _value_problem(value: str) -> str | None:
    """The label-value rule ``value`` breaks, or None."""
    if len(value) > _NAME_MAX:
        return _VALUE_LONG
    if value and _NAME.fullmatch(value) is None:
        return _VALUE_CHARS
    return None


def _plain(text: str) -> str:
    """``text`` as an exact ``str``: a subclass is read as its characters only.

    None of a subclass's methods (``__repr__``, ``__eq__``, ``__hash__``,
    ``partition`` ...) is ever called on what is validated, stored, cached or
    compiled: ``str.__str__`` copies the characters without consulting them.
    """
    return text if type(text) is str else str.__str__(text)


def _check_str(what: str, obj: object) -> str:
    """``obj`` as an exact str (see :func:`_plain`), or TypeError if it is no str."""
    if type(obj) is str:
        return obj
    if not isinstance(obj, str):
        raise TypeError(f"{what} must be str, got {type(obj).__name__}")
    return str.__str__(obj)


def validate_key(key: str) -> None:
    """Check a label key: ``[prefix/]name`` (apimachinery ``IsQualifiedName``).

    The optional prefix is a lowercase DNS subdomain of at most 253 characters;
    the name is 1-63 ASCII alphanumerics, ``-``, ``_`` and ``.``, starting and
    ending with an alphanumeric.

    Args:
        key: the label key.

    Raises:
        LabelError: naming the rule the key breaks.
        TypeError: ``key`` is not a str.

    >>> validate_key("app.kubernetes.io/name")
    >>> validate_key("Example.com/app")
    Traceback (most recent call last):
    ...
    kpkilite.errors.LabelError: label key 'Example.com/app': the prefix must be a lowercase DNS ...
    """
    key = _check_str("label key", key)
    problem = _key_problem(key)
    if problem is not None:
        raise LabelError(f"label key {key!r}: {problem}")


def validate_value(value: str) -> None:
    """Check a label value (apimachinery ``IsValidLabelValue``).

    A value is empty, or 1-63 ASCII alphanumerics, ``-``, ``_`` and ``.``,
    starting and ending with an alphanumeric.

    Args:
        value: the label value.

    Raises:
        LabelError: naming the rule the value breaks.
        TypeError: ``value`` is not a str.

    >>> validate_value("")
    >>> validate_value("v1.2-rc")
    >>> validate_value("-v1")
    Traceback (most recent call last):
    ...
    kpkilite.errors.LabelError: label value '-v1': must be empty or consist of alphanumerics ...
    """
    value = _check_str("label value", value)
    problem = _value_problem(value)
    if problem is not None:
        raise LabelError(f"label value {value!r}: {problem}")


_BLANKS = " \t"


def parse_labels(text: str) -> dict[str, str]:
    """Parse ``k=v,k2=v2`` (the CLI's ``--labels``) into a dict, validating each label.

    Items are separated by ``,``; each is ``key=value`` split at the first ``=``
    (the value may be empty); spaces and tabs around keys and values are ignored.
    Blank text gives ``{}``.

    Args:
        text: the label list.

    Returns:
        A new dict of label key to value.

    Raises:
        LabelError: an item is not ``key=value``, a key is given twice, or a key
            or value breaks the label rules; it points at the item.
        TypeError: ``text`` is not a str.

    >>> parse_labels("app=web, tier=")
    {'app': 'web', 'tier': ''}
    >>> parse_labels("app")
    Traceback (most recent call last):
    ...
    kpkilite.errors.LabelError: label 'app': expected key=value
        app
        ^^^
    """
    text = _check_str("labels", text)
    result: dict[str, str] = {}
    if not text.strip(_BLANKS):
        return result
    start = 0
    for item in text.split(","):
        span = (start, start + len(item))
        start += len(item) + 1
        key, eq, value = item.partition("=")
        key, value = key.strip(_BLANKS), value.strip(_BLANKS)
        if not eq:
            raise LabelError(f"label {item!r}: expected key=value", text=text, span=span)
        problem = _key_problem(key)
        if problem is not None:
            raise LabelError(f"label key {key!r}: {problem}", text=text, span=span)
        problem = _value_problem(value)
        if problem is not None:
            raise LabelError(f"label value {value!r}: {problem}", text=text, span=span)
        if key in result:
            raise LabelError(f"label key {key!r} is given twice", text=text, span=span)
        result[key] = value
    return result


# --- integers (Go strconv.ParseInt(s, 10, 64)) -------------------------------------------------

# Optional sign, then ASCII digits only: no spaces, no '_', no other Unicode digits.
_INT = re.compile(r"([+-]?)0*([0-9]*)")
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _parse_int64(text: str) -> int | None:
    """``text`` as Go's ``strconv.ParseInt(text, 10, 64)`` reads it, or None if Go fails."""
    m = _INT.fullmatch(text)
    if m is None or m.end(1) == len(text):  # no digits at all ("", "+", "-")
        return None
    digits = m.group(2)
    if len(digits) > 19:  # leading zeros already stripped; also keeps int() cheap
        return None
    n = int(digits) if digits else 0
    if m.group(1) == "-":
        n = -n
    return n if _INT64_MIN <= n <= _INT64_MAX else None


def _label_int(value: str | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"label values must be str, got {type(value).__name__}")
    return _parse_int64(value)


def _gt(value: str | None, bound: int) -> bool:
    n = _label_int(value)
    return n is not None and n > bound


def _lt(value: str | None, bound: int) -> bool:
    n = _label_int(value)
    return n is not None and n < bound


# --- requirements -------------------------------------------------------------------------------

#: Requirement operators (apimachinery ``selection.Operator`` values) -> canonical text.
OPERATORS: dict[str, str] = {
    "=": "=",
    "==": "==",
    "!=": "!=",
    "in": " in ",
    "notin": " notin ",
    "exists": "",
    "!": "",
    "gt": ">",
    "lt": "<",
}
_SET_OPS = ("in", "notin")
_EXACT_OPS = ("=", "==", "!=")
_UNARY_OPS = ("exists", "!")
_INT_OPS = ("gt", "lt")


def _values_problem(op: str, values: tuple[str, ...], shown_op: str) -> tuple[int, str] | None:
    """(index of the bad value or -1 for the whole list, message), or None if fine.

    The rules of apimachinery ``NewRequirement`` apart from the key; ``shown_op``
    is the operator as the user wrote it.
    """
    n = len(values)
    if op in _SET_OPS:
        if n == 0:
            return -1, f"operator {shown_op} needs at least one value"
    elif op in _EXACT_OPS:
        if n != 1:
            return -1, f"operator {shown_op} takes exactly one value, got {n}"
    elif op in _UNARY_OPS:
        if n != 0:
            return -1, f"operator {shown_op} takes no values, got {n}"
    elif op in _INT_OPS:
        if n != 1:
            return -1, f"operator {shown_op} takes exactly one value, got {n}"
        if _parse_int64(values[0]) is None:
            return 0, (
                f"value {values[0]!r} for operator {shown_op} must be a base-10 integer"
                " in the int64 range"
            )
    else:
        return -1, "unknown operator {!r} (expected one of: {})".format(op, ", ".join(OPERATORS))
    for i, value in enumerate(values):
        problem = _value_problem(value)
        if problem is not None:
            return i, f"label value {value!r}: {problem}"
    return None


# Sets a slot of a Requirement or Selector past their __setattr__, which refuses every change.
_set = object.__setattr__


def _normal_values(op: str, values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(values))) if op in _SET_OPS else values


class Requirement:
    """One requirement of a selector: ``key``, an operator and its values; immutable.

    ``operator`` is apimachinery's ``selection.Operator`` text: ``=``, ``==``,
    ``!=``, ``in``, ``notin``, ``exists``, ``!`` (does not exist), ``gt``, ``lt``.
    ``values`` of ``in``/``notin`` are kept as a sorted set; ``str()`` is the
    requirement's canonical text. Equal when key, operator and values are.

    Raises:
        SelectorError: the key, operator or values break ``NewRequirement``'s rules.
        TypeError: a field has the wrong Python type.

    >>> str(Requirement("env", "notin", ("prod", "dev", "prod")))
    'env notin (dev,prod)'
    >>> Requirement("a", "in", ("b",))
    Requirement(key='a', operator='in', values=('b',))
    """

    __slots__ = ("key", "operator", "values")
    key: str
    operator: str
    values: tuple[str, ...]

    def __init__(self, key: str, operator: str, values: tuple[str, ...] = ()) -> None:
        key = _check_str("Requirement.key", key)
        operator = _check_str("Requirement.operator", operator)
        if isinstance(values, str):
            raise TypeError("Requirement.values must be a sequence of str, not a str")
        values = tuple([_check_str("Requirement.values[]", value) for value in values])
        problem = _key_problem(key)
        if problem is not None:
            raise SelectorError(f"label key {key!r}: {problem}")
        bad = _values_problem(operator, values, operator)
        if bad is not None:
            raise SelectorError(bad[1])
        _set(self, "key", key)
        _set(self, "operator", operator)
        _set(self, "values", _normal_values(operator, values))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to {name!r}: Requirement is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: Requirement is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Requirement) or other.__class__ is not self.__class__:
            return NotImplemented
        return (self.key, self.operator, self.values) == (other.key, other.operator, other.values)

    def __hash__(self) -> int:
        return hash((self.key, self.operator, self.values))

    def __repr__(self) -> str:
        return (
            f"{type(self).__qualname__}(key={self.key!r}, operator={self.operator!r},"
            f" values={self.values!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Requirement, (self.key, self.operator, self.values))

    def __str__(self) -> str:
        op = self.operator
        if op == "!":
            return "!" + self.key
        if op == "exists":
            return self.key
        if op in _SET_OPS:
            return "{}{}({})".format(self.key, OPERATORS[op], ",".join(self.values))
        return self.key + OPERATORS[op] + self.values[0]


def _make_requirement(key: str, op: str, values: tuple[str, ...]) -> Requirement:
    """A Requirement from parts the caller has already validated (skips the checks)."""
    req: Requirement = object.__new__(Requirement)
    _set(req, "key", key)
    _set(req, "operator", op)
    _set(req, "values", _normal_values(op, values))
    return req


# --- selectors ----------------------------------------------------------------------------------

MatchFunction = Callable[[LabelsMapping], bool]


def _always(labels: LabelsMapping) -> bool:
    return True


def _never(labels: LabelsMapping) -> bool:
    return False


# What a validated key or value may hold; only such strings are written into generated code.
# No quote or backslash: "'" + text + "'" is then the literal of exactly that text.
_SAFE_LITERAL = re.compile(r"[A-Za-z0-9._/-]*")

#: A requirement as plain data, (key, operator, values), every str an exact str.
_Spec = tuple[str, str, tuple[str, ...]]


def _specs(requirements: tuple[Requirement, ...]) -> tuple[_Spec, ...]:
    """The requirements as exact strs and tuples: what is compiled, and the cache key.

    Copying the data out (rather than keying the cache by Requirement objects) means
    no ``__eq__``/``__hash__``/``__repr__`` of a subclass takes part in compiling or
    in finding a compiled matcher, so one selector cannot change another's.
    """
    return tuple(
        [
            (_plain(r.key), _plain(r.operator), tuple([_plain(v) for v in r.values]))
            for r in requirements
        ]
    )


def _compile(specs: tuple[_Spec, ...]) -> MatchFunction:
    """Build one plain function doing the requirements' checks in a single expression.

    Each requirement becomes the ``dict.get``/``in`` test one would write by hand
    (``l.get('app') == 'web'``, ``l.get('env') not in {'dev', 'qa'}``, ``'app' in l``),
    so matching a reused selector costs what the hand-written check costs: keys and
    values are code constants (a set display after ``in`` compiles to a frozenset
    constant). Only objects of exactly type ``str`` holding ``[A-Za-z0-9._/-]``
    (which label validation guarantees), exact ``int``s and frozensets of such
    strs are written as literals, and this function spells them itself: no
    ``repr()`` of anything else. Any other object reaches the code as a closure
    variable, never as source text.
    """
    if not specs:
        return _always
    cells: list[object] = []
    terms: list[str] = []

    def lit(obj: object) -> str:
        if type(obj) is str and _SAFE_LITERAL.fullmatch(obj):
            return "'" + obj + "'"
        if type(obj) is int:
            return "%d" % obj
        if (
            type(obj) is frozenset
            and obj
            and all(type(v) is str and _SAFE_LITERAL.fullmatch(v) for v in obj)
        ):
            return "{" + ", ".join(sorted(["'" + v + "'" for v in obj])) + "}"
        cells.append(obj)
        return f"c{len(cells) - 1}"

    for key_text, op, values in specs:
        key = lit(key_text)
        if op in ("=", "==") or (op == "in" and len(values) == 1):
            terms.append(f"l.get({key}) == {lit(values[0])}")
        elif op == "!=" or (op == "notin" and len(values) == 1):
            terms.append(f"l.get({key}) != {lit(values[0])}")
        elif op == "in":
            terms.append(f"l.get({key}) in {lit(frozenset(values))}")
        elif op == "notin":
            terms.append(f"l.get({key}) not in {lit(frozenset(values))}")
        elif op == "exists":
            terms.append(f"{key} in l")
        elif op == "!":
            terms.append(f"{key} not in l")
        else:  # gt, lt: the bound was checked to be an int64 when the requirement was made
            bound = _parse_int64(values[0]) if op in _INT_OPS and len(values) == 1 else None
            if bound is None:  # only a Requirement subclass that skipped __init__ gets here
                raise TypeError(f"not a valid requirement: {(key_text, op, values)!r}")
            terms.append(f"_{op}(l.get({key}), {lit(bound)})")
    expr = " and ".join(terms)
    if cells:  # only for requirements built around validation; see the docstring
        names = ", ".join(f"c{i}" for i in range(len(cells)))
        source = f"def make({names}):\n    def match(l):\n        return {expr}\n    return match\n"
    else:
        source = f"def match(l):\n    return {expr}\n"
    namespace: dict[str, Any] = {"_gt": _gt, "_lt": _lt}
    exec(compile(source, "<kpkilite.labels selector>", "exec"), namespace)
    match: MatchFunction = namespace["make"](*cells) if cells else namespace["match"]
    return match


# Compiled matchers by requirements: selectors parsed again from the same text share the code.
_compile_cached = functools.lru_cache(maxsize=512)(_compile)


def _compile_on_first_use(selector: Selector) -> MatchFunction:
    """A stand-in ``matches`` that compiles on its first call and then steps aside.

    Parsing stays cheap for selectors that are only validated or printed; the
    first match installs the compiled function on the selector, so later
    ``selector.matches`` lookups get it directly. A copy of the stand-in taken
    before that keeps working through its own cached reference. Holds the
    selector weakly: no reference cycle.
    """
    ref = _weakref(selector)
    requirements = selector.requirements
    compiled: list[MatchFunction] = []

    def first_use(labels: LabelsMapping) -> bool:
        if not compiled:
            compiled.append(_compile_cached(_specs(requirements)))
            owner = ref()
            if owner is not None:
                _set(owner, "matches", compiled[0])
        return compiled[0](labels)

    return first_use


def _by_key(req: Requirement) -> str:
    return req.key


class Selector:
    """A parsed label selector: the AND of its requirements, sorted by key; immutable.

    ``Selector()`` selects everything; ``Selector(selects_nothing=True)`` is
    apimachinery's ``Nothing()`` (a null ``LabelSelector``). Equality and hashing
    follow the canonical text; ``str()`` is that text (``""`` for both
    everything and nothing, as in Go). ``matches(labels)`` is a precompiled
    function of one Mapping argument: the fast path for a reused selector.

    Raises:
        TypeError: ``requirements`` holds something other than Requirements.

    >>> a = parse_selector("b=2,a=1")
    >>> a == parse_selector("a=1, b=2") and hash(a) == hash(parse_selector("a=1,b=2"))
    True
    >>> a.matches({"a": "1", "b": "2"})
    True
    """

    # __weakref__: the compile-on-first-use stand-in refers to its selector weakly.
    __slots__ = ("requirements", "selects_nothing", "matches", "_text", "__weakref__")
    requirements: tuple[Requirement, ...]
    selects_nothing: bool
    matches: MatchFunction
    _text: str

    def __init__(
        self, requirements: tuple[Requirement, ...] = (), selects_nothing: bool = False
    ) -> None:
        if not isinstance(selects_nothing, bool):
            raise TypeError("selects_nothing must be a bool")
        if isinstance(requirements, (str, Requirement)):
            raise TypeError("requirements must be a sequence of Requirement")
        reqs = tuple(requirements)
        for req in reqs:
            if not isinstance(req, Requirement):
                raise TypeError(f"requirements must be Requirement, got {type(req).__name__}")
        if selects_nothing:
            reqs = ()  # Go: Nothing().Add(...) is still Nothing()
        reqs = tuple(sorted(reqs, key=_by_key))  # stable: same-key order is kept
        _set(self, "requirements", reqs)
        _set(self, "selects_nothing", selects_nothing)
        _set(self, "_text", ",".join([str(r) for r in reqs]))
        if selects_nothing:
            match: MatchFunction = _never
        elif not reqs:
            match = _always
        else:
            match = _compile_on_first_use(self)
        _set(self, "matches", match)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to {name!r}: Selector is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: Selector is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selector) or other.__class__ is not self.__class__:
            return NotImplemented
        return (self.requirements, self.selects_nothing) == (
            other.requirements,
            other.selects_nothing,
        )

    def __hash__(self) -> int:
        return hash((self.requirements, self.selects_nothing))

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        if self.selects_nothing:
            return "<Selector nothing>"
        return f"<Selector {self._text!r}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Selector, (self.requirements, self.selects_nothing))


def format_selector(selector: Selector) -> str:
    """The canonical text of ``selector``, as apimachinery's ``Selector.String()``.

    Requirements sorted by key (same-key requirements keep their order), set
    values sorted and de-duplicated, ``==`` kept as written, no spaces except
    around ``in``/``notin``. Same as ``str(selector)``. A selector that selects
    nothing prints as ``""``, like Go's ``Nothing().String()``.

    Args:
        selector: the selector.

    Returns:
        The canonical selector text; ``parse_selector`` of it gives back an equal
        selector for every selector that came from text.

    Raises:
        TypeError: ``selector`` is not a Selector.

    >>> format_selector(parse_selector("x in (c,b,,a), !y ,a==1"))
    'a==1,x in (,a,b,c),!y'
    """
    if not isinstance(selector, Selector):
        raise TypeError(f"selector must be a Selector, got {type(selector).__name__}")
    return selector._text


# --- the string parser (apimachinery pkg/labels selector.go Lexer/Parser) -----------------------

# Control characters other than the separators (tab, CR, LF); Go stops at NUL, we refuse all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A token: a two-character operator, a one-character symbol, or an identifier that runs to the
# next symbol or whitespace. finditer skips the whitespace between tokens (nothing else is left).
_TOKEN = re.compile(r"!=|==|[=!(),<>]|[^ \t\r\n=!(),<>]+")
_SYMBOLS = frozenset(["!=", "==", "=", "!", "(", ")", ",", "<", ">"])
#: Operator token after a key -> Requirement operator.
_BINARY_OPS: dict[str, str] = {
    "in": "in",
    "notin": "notin",
    "=": "=",
    "==": "==",
    "!=": "!=",
    ">": "gt",
    "<": "lt",
}
_END = ""  # literal of the end-of-text token; no real token is empty


def _shown(lit: str) -> str:
    return "end of string" if lit == _END else repr(lit)


class _Parser:
    """Recursive descent over the token texts; an error finds its token's span by index."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = _TOKEN.findall(text)
        self.tokens.append(_END)
        self.pos = 0

    def fail(self, message: str, index: int) -> SelectorError:
        """The error about token ``index``; the end token's span is just past the text."""
        n = len(self.text)
        span = (n, n + 1)
        if index < len(self.tokens) - 1:
            for i, m in enumerate(_TOKEN.finditer(self.text)):
                if i == index:
                    span = m.span()
                    break
        return SelectorError(message, text=self.text, span=span)

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        if self.tokens[0] == _END:
            return requirements
        context = "expected a label key, '!' or end of string"
        while True:
            requirements.append(self.requirement(context))
            lit = self.tokens[self.pos]
            if lit == _END:
                return requirements
            if lit != ",":
                raise self.fail(f"found {_shown(lit)}, expected ',' or end of string", self.pos)
            self.pos += 1
            context = "expected a label key or '!' after ','"

    def requirement(self, context: str) -> Requirement:
        tokens = self.tokens
        key = tokens[self.pos]
        negated = key == "!"
        if negated:
            self.pos += 1
            key = tokens[self.pos]
            context = "expected a label key after '!'"
        if key in _SYMBOLS or key == _END:
            raise self.fail(f"found {_shown(key)}, {context}", self.pos)
        problem = _key_problem(key)
        if problem is not None:
            raise self.fail(f"label key {key!r}: {problem}", self.pos)
        self.pos += 1
        op_lit = tokens[self.pos]
        if negated or op_lit == "," or op_lit == _END:
            # "!key" takes no operator; whatever follows is the caller's to judge.
            return _make_requirement(key, "!" if negated else "exists", ())
        op = _BINARY_OPS.get(op_lit)
        if op is None:
            raise self.fail(
                f"found {_shown(op_lit)}, expected an operator: in, notin, =, ==, !=, >, <",
                self.pos,
            )
        op_index = self.pos
        self.pos += 1
        if op in _SET_OPS:
            values, where = self.value_list(op_lit)
        else:
            values, where = self.exact_value(op_lit)
        bad = _values_problem(op, values, op_lit)
        if bad is not None:
            index, message = bad
            raise self.fail(message, where[index] if index >= 0 else op_index)
        return _make_requirement(key, op, values)

    def exact_value(self, op_lit: str) -> tuple[tuple[str, ...], list[int]]:
        """The value after ``=``, ``==``, ``!=``, ``>``, ``<``, and its token index."""
        lit = self.tokens[self.pos]
        if lit == "," or lit == _END:  # "a=" and "a=,b": the value is ""
            return ("",), [self.pos]
        if lit in _SYMBOLS:
            raise self.fail(f"found {_shown(lit)}, expected a value after {op_lit!r}", self.pos)
        self.pos += 1
        return (lit,), [self.pos - 1]

    def value_list(self, op_lit: str) -> tuple[tuple[str, ...], list[int]]:
        """The values of ``( ... )`` in input order, and their token indexes."""
        tokens = self.tokens
        if tokens[self.pos] != "(":
            raise self.fail(
                f"found {_shown(tokens[self.pos])}, expected '(' after {op_lit!r}", self.pos
            )
        values: list[str] = []
        where: list[int] = []
        slot_open = True  # at the start of a slot: no value read since '(' or the last ','
        while True:
            self.pos += 1
            lit = tokens[self.pos]
            if lit == "," or lit == ")":
                if slot_open:  # an empty slot: "()", "(,a)", "(a,,b)", "(a,)"
                    values.append("")
                    where.append(self.pos)
                if lit == ")":
                    self.pos += 1
                    return tuple(values), where
                slot_open = True
            elif slot_open and lit not in _SYMBOLS and lit != _END:
                values.append(lit)
                where.append(self.pos)
                slot_open = False
            elif slot_open:
                raise self.fail(f"found {_shown(lit)}, expected a value, ',' or ')'", self.pos)
            else:
                raise self.fail(f"found {_shown(lit)}, expected ',' or ')'", self.pos)


def parse_selector(text: str) -> Selector:
    """Parse a label selector string, as apimachinery's ``labels.Parse``.

    See the module docstring for the grammar. Empty or blank text selects
    everything. Keys and values are checked against the label rules; ``>``/``<``
    take a base-10 int64 that is also a valid label value (so no sign).

    Args:
        text: the selector, e.g. ``"app=web,tier notin (db,cache),!canary"``.

    Returns:
        The Selector, requirements sorted by key.

    Raises:
        SelectorError: the text is not a valid selector (or contains a control
            character other than tab, CR and LF); points at the bad part.
        TypeError: ``text`` is not a str.

    >>> parse_selector("env in (prod,staging),tier")
    <Selector 'env in (prod,staging),tier'>
    >>> parse_selector("a in (b")
    Traceback (most recent call last):
    ...
    kpkilite.errors.SelectorError: found end of string, expected ',' or ')'
        a in (b
               ^
    """
    text = _check_str("selector", text)
    bad = _CONTROL.search(text)
    if bad is not None:
        raise SelectorError(
            f"control character U+{ord(bad.group()):04X} is not allowed in a selector",
            text=text,
            span=(bad.start(), bad.end()),
        )
    return Selector(tuple(_Parser(text).parse()))


_parse_cached = functools.lru_cache(maxsize=256)(parse_selector)


# --- structured selectors (metav1.LabelSelector, LabelSelectorAsSelector) -----------------------

#: metav1.LabelSelectorOperator -> Requirement operator. Gt/Lt are not API operators.
LABEL_SELECTOR_OPERATORS: dict[str, str] = {
    "In": "in",
    "NotIn": "notin",
    "Exists": "exists",
    "DoesNotExist": "!",
}
_SELECTOR_FIELDS = ("matchLabels", "matchExpressions")
_EXPRESSION_FIELDS = ("key", "operator", "values")


def _type_name(obj: object) -> str:
    if obj is None:
        return "null"
    if isinstance(obj, Mapping):
        return "object"
    if isinstance(obj, (list, tuple)):
        return "list"
    return type(obj).__name__


def _check_fields(obj: Mapping[Any, Any], allowed: tuple[str, ...], path: str) -> None:
    for name in obj:
        if name not in allowed:
            raise SelectorError(
                f"{path}unknown field {name!r} (expected "
                f"{', '.join(allowed[:-1])} or {allowed[-1]})"
            )


def _expression(expr: object, path: str) -> Requirement:
    if not isinstance(expr, Mapping):
        raise SelectorError(f"{path}: expected an object, got {_type_name(expr)}")
    _check_fields(expr, _EXPRESSION_FIELDS, path + ": ")
    key = expr.get("key")
    if key is None:
        raise SelectorError(f"{path}.key: required")
    if not isinstance(key, str):
        raise SelectorError(f"{path}.key: expected a string, got {_type_name(key)}")
    key = _plain(key)
    operator = expr.get("operator")
    if operator is None:
        raise SelectorError(f"{path}.operator: required")
    if not isinstance(operator, str):
        raise SelectorError(f"{path}.operator: expected a string, got {_type_name(operator)}")
    operator = _plain(operator)
    op = LABEL_SELECTOR_OPERATORS.get(operator)
    if op is None:
        raise SelectorError(
            f"{path}.operator: {operator!r} is not a label selector operator"
            f" (expected {', '.join(LABEL_SELECTOR_OPERATORS)})"
        )
    raw = expr.get("values")
    if raw is None:
        raw = []
    if not isinstance(raw, (list, tuple)):
        raise SelectorError(f"{path}.values: expected a list, got {_type_name(raw)}")
    for i, value in enumerate(raw):
        if not isinstance(value, str):
            raise SelectorError(f"{path}.values[{i}]: expected a string, got {_type_name(value)}")
    values = tuple([_plain(value) for value in raw])
    problem = _key_problem(key)
    if problem is not None:
        raise SelectorError(f"{path}.key: label key {key!r}: {problem}")
    bad = _values_problem(op, values, operator)
    if bad is not None:
        index, message = bad
        where = f"values[{index}]" if index >= 0 else "values"
        raise SelectorError(f"{path}.{where}: {message}")
    return _make_requirement(key, op, values)


def selector_from_dict(obj: Mapping[str, Any] | None) -> Selector:
    """Convert a ``metav1.LabelSelector`` document, as ``LabelSelectorAsSelector``.

    ``matchLabels`` (key -> value, each an ``=`` requirement) and
    ``matchExpressions`` (``{key, operator, values}`` with ``In``, ``NotIn``,
    ``Exists``, ``DoesNotExist``) are ANDed. ``None`` (a null selector) selects
    nothing; ``{}`` or empty lists select everything. ``In``/``NotIn`` need
    values, ``Exists``/``DoesNotExist`` take none. Unknown fields are refused.

    Args:
        obj: the parsed JSON/YAML object, or None.

    Returns:
        The Selector.

    Raises:
        SelectorError: the document is invalid; the message starts with the
            path of the bad field (``matchExpressions[0].values[1]: ...``).
        TypeError: ``obj`` is neither a Mapping nor None.

    >>> str(selector_from_dict({"matchLabels": {"app": "web"},
    ...     "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}]}))
    'app=web,env notin (dev)'
    >>> selector_from_dict(None).matches({})
    False
    """
    if obj is None:
        return Selector(selects_nothing=True)
    if not isinstance(obj, Mapping):
        raise TypeError(f"label selector must be a Mapping or None, got {type(obj).__name__}")
    _check_fields(obj, _SELECTOR_FIELDS, "")
    requirements: list[Requirement] = []
    match_labels = obj.get("matchLabels")
    if match_labels is None:
        match_labels = {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError(f"matchLabels: expected an object, got {_type_name(match_labels)}")
    for key, value in match_labels.items():
        if isinstance(key, str):
            key = _plain(key)
        path = f"matchLabels[{key!r}]"
        if not isinstance(key, str):
            raise SelectorError(f"{path}: keys must be strings, got {_type_name(key)}")
        if not isinstance(value, str):
            raise SelectorError(f"{path}: expected a string, got {_type_name(value)}")
        value = _plain(value)
        problem = _key_problem(key)
        if problem is not None:
            raise SelectorError(f"{path}: label key {key!r}: {problem}")
        problem = _value_problem(value)
        if problem is not None:
            raise SelectorError(f"{path}: label value {value!r}: {problem}")
        requirements.append(_make_requirement(key, "=", (value,)))
    requirements.sort(key=_by_key)  # Go ranges over a map: the order is only ever by key
    expressions = obj.get("matchExpressions")
    if expressions is None:
        expressions = []
    if not isinstance(expressions, (list, tuple)):
        raise SelectorError(f"matchExpressions: expected a list, got {_type_name(expressions)}")
    for i, expr in enumerate(expressions):
        requirements.append(_expression(expr, f"matchExpressions[{i}]"))
    return Selector(tuple(requirements))


# --- matching -----------------------------------------------------------------------------------


def matches(selector: Selector | str, labels: LabelsMapping) -> bool:
    """Whether ``labels`` satisfy ``selector`` (apimachinery ``Selector.Matches``).

    Every requirement must hold. With a key absent, ``!=``, ``notin`` and ``!``
    hold and ``=``, ``==``, ``in``, ``exists``, ``>``, ``<`` do not. ``>``/``<``
    hold only for a label value that Go's ``strconv.ParseInt(v, 10, 64)`` accepts
    (``"+5"`` and ``"007"`` yes; ``" 5"``, ``"1_0"``, ``"5.0"``, non-ASCII digits no).
    Label values are compared as given, not validated.

    Args:
        selector: a Selector, or selector text (parsed once and cached).
        labels: label key -> value.

    Returns:
        True if every requirement holds.

    Raises:
        SelectorError: ``selector`` is text that does not parse.
        TypeError: ``selector`` is neither a Selector nor a str, or ``labels`` is
            not a Mapping.

    >>> matches("a notin (x)", {})
    True
    >>> matches("a>1", {"a": " 5"})
    False
    """
    if type(selector) is not Selector:
        if isinstance(selector, str):
            # The cache is keyed by exact strs: a subclass's __eq__/__hash__ never reach it.
            selector = _parse_cached(_plain(selector))
        elif not isinstance(selector, Selector):
            raise TypeError(f"selector must be a Selector or str, got {type(selector).__name__}")
    if type(labels) is not dict and not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a Mapping, got {type(labels).__name__}")
    return selector.matches(labels)
