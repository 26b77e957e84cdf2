"""Benchmark kpkilite.labels: matching a reused selector against the hand-written floor.

    python benchmarks/bench_labels.py            # about 15 s
    python benchmarks/bench_labels.py --quick    # fewer repeats

Matching: 1,000,000 calls over 5-label dicts with the 3-requirement selector
``app=web,env in (prod,staging),tier!=db``, beside a hand-written function doing
the same three ``dict.get`` checks (the floor). The target is ``sel.matches``
within 1.5x of the floor. ``matches(sel, labels)`` adds one Python call and the
type checks; ``matches(text, labels)`` adds the parse cache lookup.

Parsing: microseconds per ``parse_selector`` call for typical selectors, and
for ``selector_from_dict``.

Each figure is the median of several runs; one run prints everything.
"""

from __future__ import annotations

import os
import statistics
import sys
import timeit
from typing import Callable, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kpkilite.labels import matches, parse_selector, selector_from_dict  # noqa: E402

SELECTOR = "app=web,env in (prod,staging),tier!=db"
N = 1_000_000

# Five 5-label dicts: three match, two fail at different requirements.
LABEL_SETS: List[Dict[str, str]] = [
    {"app": "web", "env": "prod", "tier": "api", "team": "a", "zone": "z1"},
    {"app": "web", "env": "staging", "tier": "fe", "team": "b", "zone": "z2"},
    {"app": "web", "env": "prod", "tier": "cache", "team": "c", "zone": "z3"},
    {"app": "web", "env": "dev", "tier": "api", "team": "d", "zone": "z1"},
    {"app": "web", "env": "prod", "tier": "db", "team": "e", "zone": "z2"},
]


def hand_written(labels: Dict[str, str]) -> bool:
    """The floor: the three checks written out by hand."""
    return (
        labels.get("app") == "web"
        and labels.get("env") in {"prod", "staging"}
        and labels.get("tier") != "db"
    )


def median_seconds(loop: Callable[[], object], repeat: int) -> float:
    return statistics.median(timeit.repeat(loop, number=1, repeat=repeat))


def bench_matching(repeat: int) -> None:
    sel = parse_selector(SELECTOR)
    data = LABEL_SETS * (N // len(LABEL_SETS))
    assert [hand_written(d) for d in LABEL_SETS] == [sel.matches(d) for d in LABEL_SETS]

    def floor() -> None:
        for d in data:
            hand_written(d)

    def method() -> None:
        for d in data:
            sel.matches(d)

    def function() -> None:
        for d in data:
            matches(sel, d)

    def text() -> None:
        for d in data:
            matches(SELECTOR, d)

    print(f"matching {SELECTOR!r}: {len(data):,} calls over 5-label dicts, median of {repeat}")
    base = median_seconds(floor, repeat)
    print(f"  {'hand-written dict.get checks (floor)':40s} {base:7.3f} s   1.00x")
    for name, loop in [
        ("sel.matches(labels)", method),
        ("matches(sel, labels)", function),
        ("matches(text, labels)  [parse cached]", text),
    ]:
        took = median_seconds(loop, repeat)
        print(f"  {name:40s} {took:7.3f} s   {took / base:.2f}x")


TYPICAL = [
    "app=web",
    "app=web,tier!=db",
    "app=web,env in (prod,staging),tier!=db",
    "environment in (production, qa),tier notin (frontend,backend),!canary,partition",
    "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller",
    "release>3,release<10",
]
DOCUMENT = {
    "matchLabels": {"app": "web", "tier": "api"},
    "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "staging"]},
        {"key": "canary", "operator": "DoesNotExist"},
    ],
}


def bench_parsing(repeat: int) -> None:
    number = 20_000
    print(f"parsing: microseconds per call, median of {repeat} x {number:,}")
    for text in TYPICAL:

        def parse(text: str = text) -> None:
            parse_selector(text)

        took = statistics.median(timeit.repeat(parse, number=number, repeat=repeat))
        print(f"  {took / number * 1e6:7.2f} us  parse_selector({text!r})")
    took = statistics.median(
        timeit.repeat(lambda: selector_from_dict(DOCUMENT), number=number, repeat=repeat)
    )
    print(f"  {took / number * 1e6:7.2f} us  selector_from_dict(<2 matchLabels, 2 expressions>)")


def main(argv: List[str]) -> int:
    repeat = 3 if "--quick" in argv else 7
    print(f"Python {sys.version.split()[0]}")
    bench_matching(repeat)
    bench_parsing(repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
