"""Import cost and command start-up, in one run: kpkilite beside cronsim, cryptography and cfssl.

    python benchmarks/bench_import.py              # 15 runs per import row, 20 per command row
    python benchmarks/bench_import.py --runs 31 --cmd-runs 41

Import rows: ``python -X importtime -c "import X"`` in a fresh interpreter per run;
"total" is the summed cumulative time of every module the statement newly loads
(what a user pays), "own" the self time of kpkilite's modules alone (the rest is
the stdlib or asn1crypto). Modules the bare interpreter already loads are left out
(a ``pass`` run is the baseline), byte-code caches are warmed first.

Command rows: wall time of a whole process (``subprocess.run``) for ``kpkilite
--help``, ``kpkilite certinfo -cert FILE`` (the console script, and the same
through ``python3 kpkilite.pyz``, built plain and with ``-compile``) and
``cfssl certinfo -cert FILE`` on the same certificate. Every figure is a median;
"x" is the other tool's time over kpkilite's (above 1 means kpkilite is faster).
A tool that is not installed is reported as such and skipped.

Targets (issue 6): ``import kpkilite`` under 5 ms of its own; ``kpkilite.cron``
and ``kpkilite.labels`` no slower to import than cronsim.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from kpkilite import _pyz, signing  # noqa: E402

OURS = ["kpkilite", "kpkilite.cron", "kpkilite.labels", "kpkilite.certinfo"]
PEERS = ["cronsim", "cryptography.x509"]


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONPATH"] = ROOT
    return env


def importtime(statement: str) -> Dict[str, Tuple[int, int]]:
    """name -> (self us, cumulative us) of every module ``statement`` imports, top-level
    entries flagged by a leading ``+`` on the name."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", statement],
                          capture_output=True, text=True, env=_env(), cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1])
    out: Dict[str, Tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, cumulative, name = line[len("import time:"):].split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        top = name.startswith(" ") and not name.startswith("  ")
        out[("+" if top else "") + name.strip()] = (int(own), int(cumulative))
    return out


def import_cost(module: str, runs: int) -> Optional[Tuple[float, float]]:
    """(median total ms, median kpkilite-own ms) of ``import module``; None if absent."""
    try:
        importtime("import %s" % module)  # warm the byte-code caches
    except RuntimeError:
        return None
    baseline = {name.lstrip("+") for name in importtime("pass")}
    totals, owns = [], []
    for _ in range(runs):
        found = importtime("import %s" % module)
        totals.append(sum(c for name, (_, c) in found.items()
                          if name.startswith("+") and name[1:] not in baseline) / 1000.0)
        owns.append(sum(s for name, (s, _) in found.items()
                        if name.lstrip("+").split(".")[0] == "kpkilite") / 1000.0)
    return statistics.median(totals), statistics.median(owns)


def wall(cmd: List[str], runs: int) -> Optional[float]:
    """Median wall time in ms of running ``cmd`` to completion; None if it cannot run."""
    try:
        for _ in range(2):  # warm caches (page cache, byte-code)
            proc = subprocess.run(cmd, capture_output=True, env=_env(), cwd=ROOT)
    except OSError:
        return None
    if proc.returncode != 0:
        sys.stderr.write("%s failed: %s\n" % (" ".join(cmd), proc.stderr.decode()[-500:]))
        return None
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=_env(), cwd=ROOT)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(samples)


def _kpkilite_cmd() -> List[str]:
    script = os.path.join(os.path.dirname(sys.executable), "kpkilite")
    return [script] if os.access(script, os.X_OK) else [sys.executable, "-m", "kpkilite"]


def _fmt(value: Optional[float]) -> str:
    return "%9.1f" % value if value is not None else "%9s" % "absent"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per import row")
    parser.add_argument("--cmd-runs", type=int, default=20, help="runs per command row")
    opts = parser.parse_args(argv)

    print("Python %s, %s" % (sys.version.split()[0], sys.executable))
    print("\nimport cost, median of %d fresh interpreters (ms)" % opts.runs)
    print("%-28s %9s %9s" % ("statement", "total", "own"))
    costs: Dict[str, Optional[Tuple[float, float]]] = {}
    for module in OURS + PEERS:
        costs[module] = cost = import_cost(module, opts.runs)
        own = _fmt(cost[1]) if cost and module.startswith("kpkilite") else "%9s" % "-"
        print("%-28s %s %s" % ("import " + module, _fmt(cost[0] if cost else None), own))

    with tempfile.TemporaryDirectory() as tmp:
        cert = os.path.join(tmp, "ca.pem")
        ca = signing.create_ca({"CN": "bench CA", "key": {"algo": "rsa", "size": 2048}})
        with open(cert, "w") as fh:
            fh.write(ca["cert"])
        pyz = os.path.join(tmp, "kpkilite.pyz")
        _pyz.build_pyz(pyz)
        pyz_bytecode = os.path.join(tmp, "kpkilite-bytecode.pyz")
        _pyz.build_pyz(pyz_bytecode, bytecode=True)
        ours = _kpkilite_cmd()
        cfssl = shutil.which("cfssl")
        rows = [
            ("kpkilite --help", ours + ["--help"]),
            ("kpkilite certinfo -cert", ours + ["certinfo", "-cert", cert]),
            ("python3 kpkilite.pyz certinfo", [sys.executable, pyz, "certinfo", "-cert", cert]),
            ("  (pyz -compile) certinfo",
             [sys.executable, pyz_bytecode, "certinfo", "-cert", cert]),
            ("cfssl certinfo -cert", [cfssl, "certinfo", "-cert", cert] if cfssl else []),
        ]
        print("\ncommand wall time, median of %d runs (ms)" % opts.cmd_runs)
        times: Dict[str, Optional[float]] = {}
        for label, cmd in rows:
            times[label] = wall(cmd, opts.cmd_runs) if cmd else None
            print("%-32s %s" % (label, _fmt(times[label])))

    print("\nratios and targets")
    base = costs["kpkilite"]
    if base is not None:
        verdict = "met" if base[1] < 5.0 else "MISSED"
        print("import kpkilite own time %.2f ms (target < 5 ms): %s" % (base[1], verdict))
    peer = costs["cronsim"]
    for module in ("kpkilite.cron", "kpkilite.labels"):
        mine = costs[module]
        if mine is None or peer is None:
            print("import %s vs cronsim: not measured (cronsim not installed)" % module)
            continue
        verdict = "met" if mine[0] <= peer[0] else "MISSED"
        print("import %s vs cronsim: x%.2f (cronsim %.1f ms / %.1f ms; target >= 1): %s"
              % (module, peer[0] / mine[0], peer[0], mine[0], verdict))
    ours_certinfo = times["kpkilite certinfo -cert"]
    theirs = times["cfssl certinfo -cert"]
    if ours_certinfo and theirs:
        print("certinfo: cfssl / kpkilite x%.2f; pyz / console script x%.2f; "
              "pyz -compile / console script x%.2f"
              % (theirs / ours_certinfo, (times["python3 kpkilite.pyz certinfo"] or 0.0)
                 / ours_certinfo, (times["  (pyz -compile) certinfo"] or 0.0) / ours_certinfo))
    x509 = costs["cryptography.x509"]
    cert_cost = costs["kpkilite.certinfo"]
    if x509 and cert_cost:
        print("import cryptography.x509 / kpkilite.certinfo: x%.2f" % (x509[0] / cert_cost[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
