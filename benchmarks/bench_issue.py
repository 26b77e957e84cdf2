"""Per-certificate issuance cost, split into key generation, the two signatures and the rest.

    python benchmarks/bench_issue.py [--rounds N]

One run measures, for RSA-2048 and ECDSA P-256 leaves signed by a CA of the same kind:

* in-process ``signing.issue_cert``: key generation, the CSR signature, the
  certificate signature, and everything else (spec parsing, DER building,
  PEM) -- the part kpkilite itself owns (target: <= 1 ms per certificate);
* whole-process key generation by the ``openssl`` CLI, the physical floor;
* whole-process ``cfssl gencert -ca`` (real cfssl, Debian golang-cfssl) beside
  whole-process ``kpkilite gencert -ca`` on the same inputs.

Medians over the rounds are printed, with ratios. Machines are noisy: compare
the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any, Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from kpkilite import _crypto, signing  # noqa: E402

PROFILE_CONFIG = {
    "signing": {
        "default": {"expiry": "87600h"},
        "profiles": {
            "rsa": {"usages": ["signing", "key encipherment", "server auth", "client auth"],
                    "expiry": "87600h"},
            "ecdsa": {"usages": ["signing", "server auth", "client auth"], "expiry": "87600h"},
        },
    }
}


def leaf_spec(algo: str, size: int) -> Dict[str, Any]:
    return {
        "CN": "kubernetes",
        "hosts": ["127.0.0.1", "10.0.0.1", "kubernetes", "kubernetes.default",
                  "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
        "key": {"algo": algo, "size": size},
        "names": [{"C": "CN", "ST": "BeiJing", "L": "BeiJing", "O": "Kubernetes",
                   "OU": "System"}],
    }


def ms(seconds: float) -> str:
    return "%8.3f ms" % (seconds * 1000)


def median(values: List[float]) -> float:
    return statistics.median(values) if values else float("nan")


def in_process(algo: str, size: int, rounds: int) -> Dict[str, float]:
    """Median per-certificate seconds for keygen, CSR signature, cert signature, the rest."""
    ca = signing.create_ca({"CN": "bench CA", "key": {"algo": algo, "size": size}})
    spec = leaf_spec(algo, size)
    keys = []
    keygen: List[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        keys.append(_crypto.generate_private_key(algo, size))
        keygen.append(time.perf_counter() - t0)

    sign_times: List[float] = []
    original_sign = _crypto.PrivateKey.sign

    def timed_sign(self: Any, data: bytes, hash_name: str) -> bytes:
        t0 = time.perf_counter()
        try:
            result: bytes = original_sign(self, data, hash_name)
            return result
        finally:
            sign_times.append(time.perf_counter() - t0)

    pool = list(keys)
    original_gen = _crypto.generate_private_key
    csr_sig: List[float] = []
    cert_sig: List[float] = []
    rest: List[float] = []
    _crypto.PrivateKey.sign = timed_sign  # type: ignore[method-assign]
    _crypto.generate_private_key = lambda a, s: pool.pop()  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(rounds):
                del sign_times[:]
                t0 = time.perf_counter()
                signing.issue_cert(spec, ca_cert=ca["cert"], ca_key=ca["key"],
                                   config=PROFILE_CONFIG, profile=algo)
                total = time.perf_counter() - t0
                csr_sig.append(sign_times[0])
                cert_sig.append(sign_times[1])
                rest.append(total - sum(sign_times))
    finally:
        _crypto.PrivateKey.sign = original_sign  # type: ignore[method-assign]
        _crypto.generate_private_key = original_gen
    return {"keygen": median(keygen), "csr_sig": median(csr_sig),
            "cert_sig": median(cert_sig), "rest": median(rest)}


def wall(cmd: List[str], rounds: int, cwd: Optional[str] = None,
         stdout: Optional[Callable[[bytes], None]] = None) -> float:
    """Median wall seconds of a whole process (after one warm-up run)."""
    times: List[float] = []
    for i in range(rounds + 1):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError("%s failed: %s" % (cmd[0], proc.stderr.decode()[-300:]))
        if i:
            times.append(elapsed)
    return median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds per figure (default 15)")
    rounds = parser.parse_args().rounds
    openssl = shutil.which("openssl")
    cfssl = shutil.which("cfssl")
    print("kpkilite issuance benchmark: %d rounds, medians; backend %s"
          % (rounds, _crypto.backend_description()))
    for algo, size, label in (("rsa", 2048, "RSA-2048"), ("ecdsa", 256, "P-256")):
        r = in_process(algo, size, rounds)
        print("\n%s, in-process issue_cert, per certificate:" % label)
        print("  key generation          %s" % ms(r["keygen"]))
        print("  CSR signature           %s" % ms(r["csr_sig"]))
        print("  certificate signature   %s" % ms(r["cert_sig"]))
        print("  everything else         %s   (target <= 1 ms: %s)"
              % (ms(r["rest"]), "met" if r["rest"] <= 0.001 else "NOT met"))
        if openssl:
            cmd = ([openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
                   if algo == "rsa" else [openssl, "ecparam", "-genkey", "-name", "prime256v1"])
            o = wall(cmd, rounds)
            print("  openssl CLI keygen      %s   (kpkilite keygen / openssl: %.2fx)"
                  % (ms(o), r["keygen"] / o))
        else:
            print("  openssl CLI keygen      not installed")
        with tempfile.TemporaryDirectory() as tmp:
            ca = signing.create_ca({"CN": "bench CA", "key": {"algo": algo, "size": size}})
            for name, text in (("ca.pem", ca["cert"]), ("ca-key.pem", ca["key"]),
                               ("csr.json", json.dumps(leaf_spec(algo, size))),
                               ("config.json", json.dumps(PROFILE_CONFIG))):
                with open(os.path.join(tmp, name), "w") as fh:
                    fh.write(text)
            args = ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=config.json",
                    "-profile=" + algo, "csr.json"]
            ours = wall([sys.executable, "-m", "kpkilite"] + args, rounds, cwd=tmp)
            print("  kpkilite gencert (process) %s" % ms(ours))
            if cfssl:
                theirs = wall([cfssl] + args, rounds, cwd=tmp)
                print("  cfssl gencert (process)    %s   (kpkilite / cfssl: %.2fx)"
                      % (ms(theirs), ours / theirs))
            else:
                print("  cfssl gencert (process)    not installed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
