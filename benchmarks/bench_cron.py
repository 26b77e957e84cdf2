"""Benchmark kpkilite.cron against cronsim and croniter in one run.

    python benchmarks/bench_cron.py                 # 100,000 next times per row, 3 repeats
    python benchmarks/bench_cron.py --count 20000 --repeat 5

Rows: parse time; 100,000 next times of ``*/5 * * * *`` and ``0 9 * * 1-5`` in UTC and
America/New_York from 2024-01-01; import time (``python -X importtime`` in subprocesses,
median of several runs, byte-code caches warmed first so every library is measured as
installed). Every figure is a median; "x" columns are peer time / kpkilite time (above 1 means
kpkilite is faster). A peer that is not installed is reported as such and skipped.
Targets (issue 4): >= 2x cronsim on each iteration row; import no slower than cronsim's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from kpkilite import cron  # noqa: E402

cronsim: Any
croniter: Any
try:
    import cronsim
except ImportError:  # pragma: no cover - depends on the environment
    cronsim = None
try:
    import croniter  # type: ignore[import-untyped, no-redef]
except ImportError:  # pragma: no cover
    croniter = None

EXPRS = ["*/5 * * * *", "0 9 * * 1-5"]
ZONES = ["UTC", "America/New_York"]
PARSE_EXPR = "*/15 9-17 1,15 * MON-FRI"


def _median_time(fn: Callable[[], Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def iterate_kpkilite(expr: str, tz: str, count: int) -> List[datetime]:
    start = datetime(2024, 1, 1, tzinfo=_zone(tz))
    it = cron.iter_fire_times(expr, start)
    return [next(it) for _ in range(count)]


def iterate_cronsim(expr: str, tz: str, count: int) -> List[datetime]:
    start = datetime(2024, 1, 1, tzinfo=_zone(tz))
    it = cronsim.CronSim(expr, start)
    return [next(it) for _ in range(count)]


def iterate_croniter(expr: str, tz: str, count: int) -> List[datetime]:
    start = datetime(2024, 1, 1, tzinfo=_zone(tz))
    it = croniter.croniter(expr, start)
    return [it.get_next(datetime) for _ in range(count)]


def _parse_loop(make: Callable[[], Any], n: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(n):
            make()

    return run


def _parse_cold(n: int) -> Callable[[], None]:
    cache = cron._FIELD_CACHE

    def run() -> None:
        for _ in range(n):
            cache.clear()
            cron.parse_schedule(PARSE_EXPR)

    return run


def _import_ms(module: str, runs: int) -> Optional[float]:
    """Median self+children import time of ``module`` and anything it pulls in, in ms."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")

    def top_level(code: str) -> Dict[str, int]:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])
        out = {}
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            _, cumulative, name = line.split("|")
            # top level has one leading space; the header line has no number
            if name.startswith(" ") and not name.startswith("  ") and cumulative.strip().isdigit():
                out[name.strip()] = int(cumulative)
        return out

    try:
        top_level("import %s" % module)  # warm the byte-code caches
    except RuntimeError:
        return None
    baseline = set(top_level("pass"))
    samples = []
    for _ in range(runs):
        found = top_level("import %s" % module)
        samples.append(sum(v for k, v in found.items() if k not in baseline) / 1000.0)
    return statistics.median(samples)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="next times per row")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per cell (median)")
    parser.add_argument("--import-runs", type=int, default=15)
    opts = parser.parse_args(argv)
    n, repeat = opts.count, opts.repeat
    peers = [("cronsim", cronsim), ("croniter", croniter)]
    for name, mod in peers:
        version = getattr(mod, "__version__", "") if mod is not None else ""
        print("%-9s %s" % (name, ("installed " + version).strip() if mod else "not installed"))
    print("python    %s" % sys.version.split()[0])
    print()

    rows: List[Tuple[str, float, Dict[str, Optional[float]], float, Optional[str]]] = []
    parse_n = 20_000
    per_call = 1e6 / parse_n
    ours = _median_time(_parse_loop(lambda: cron.parse_schedule(PARSE_EXPR), parse_n), repeat)
    cold = _median_time(_parse_cold(parse_n), repeat)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    peer_parse = {
        "cronsim": (lambda: cronsim.CronSim(PARSE_EXPR, start)) if cronsim else None,
        "croniter": (lambda: croniter.croniter(PARSE_EXPR, start)) if croniter else None,
    }
    peer_times = {
        k: (_median_time(_parse_loop(f, parse_n), repeat) if f else None)
        for k, f in peer_parse.items()
    }
    rows.append(("parse, repeated expr (us/call)", ours * per_call, peer_times, per_call, None))
    rows.append(("parse, cold cache (us/call)", cold * per_call, peer_times, per_call, None))

    for tz in ZONES:
        for expr in EXPRS:
            label = "%s next %s %s (s)" % (format(n, ","), expr, tz)
            mine = _median_time(partial(iterate_kpkilite, expr, tz, n), repeat)
            times: Dict[str, Optional[float]] = {}
            agree = []
            for name, mod in peers:
                if mod is None:
                    times[name] = None
                    continue
                fn = iterate_cronsim if name == "cronsim" else iterate_croniter
                times[name] = _median_time(partial(fn, expr, tz, n), repeat)
                a = iterate_kpkilite(expr, tz, 2000)
                b = fn(expr, tz, 2000)
                same = all(x.astimezone(timezone.utc) == y.astimezone(timezone.utc)
                           for x, y in zip(a, b))  # fmt: skip
                agree.append("%s %s" % (name, "same times" if same else "DIFFERENT times"))
            rows.append((label, mine, times, 1.0, ", ".join(agree) or None))

    ours_import = _import_ms("kpkilite.cron", opts.import_runs)
    peer_import = {
        name: (_import_ms(name, opts.import_runs) if mod else None) for name, mod in peers
    }
    rows.append(("import (ms)", ours_import or 0.0, peer_import, 1.0, None))

    header = "%-44s %10s %10s %10s %12s %12s" % (
        "median", "kpkilite", "cronsim", "croniter", "cronsim x", "croniter x",
    )  # fmt: skip
    print(header)
    print("-" * len(header))
    notes: List[str] = []
    for label, mine, times, scale, note in rows:
        cells = []
        ratios = []
        for name in ("cronsim", "croniter"):
            value = times.get(name)
            if value is None:
                cells.append("%10s" % "n/a")
                ratios.append("%12s" % "not inst.")
                continue
            value = value * scale if scale != 1.0 else value
            cells.append("%10.3f" % value if value < 100 else "%10.1f" % value)
            ratios.append("%11.2fx" % (value / mine if mine else float("inf")))
        print("%-44s %10.3f %s %s" % (label, mine, " ".join(cells), " ".join(ratios)))
        if note:
            notes.append("  %s: %s" % (label, note))
    print()
    print("x = peer time / kpkilite time (higher is better for kpkilite).")
    print("parse rows: cronsim/croniter are timed constructing an iterator (their parse entry).")
    print("cold cache: kpkilite's per-field parse cache is cleared before every call.")
    if notes:
        print("first 2,000 times compared instant by instant:")
        print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
