"""Shared fixtures: the chapter's CA and leaves (RSA and ECDSA), CAs per key type, tool finders.

Key generation is the slow part of these tests, so everything that does not need
a fresh key reuses the session-scoped bundles made here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
from cryptography import x509 as cx509

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed-flow"

#: The chapter's leaves: name -> (CSR spec file, profile).
CHAPTER_LEAVES: Dict[str, str] = {
    "admin": "admin-csr.json",
    "kube-controller-manager": "kube-controller-manager-csr.json",
    "kube-proxy": "kube-proxy-csr.json",
    "kube-scheduler": "kube-scheduler-csr.json",
    "kubernetes": "kubernetes-csr.json",
}


def seed(name: str) -> Any:
    """One of the chapter's JSON documents (the files without the book's trailing comma)."""
    return json.loads((SEED / name).read_text())


def with_key(spec: Dict[str, Any], algo: str, size: int) -> Dict[str, Any]:
    out = dict(spec)
    out["key"] = {"algo": algo, "size": size}
    return out


def load_cert(pem: str) -> cx509.Certificate:
    return cx509.load_pem_x509_certificate(pem.encode("ascii"))


# --- a tiny DER reader, independent of asn1crypto -------------------------------------


def der_read(data: bytes, pos: int = 0) -> Tuple[int, bytes, int]:
    """Read one TLV at ``pos``: returns (tag byte, contents, end offset)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    return tag, data[pos : pos + length], pos + length


def der_children(contents: bytes) -> List[Tuple[int, bytes, bytes]]:
    """The TLVs inside a constructed value: (tag, contents, whole encoding)."""
    out = []
    pos = 0
    while pos < len(contents):
        tag, body, end = der_read(contents, pos)
        out.append((tag, body, contents[pos:end]))
        pos = end
    return out


def tbs_fields(cert: cx509.Certificate) -> List[Tuple[int, bytes, bytes]]:
    """TBSCertificate's fields: [0] version, serial, signature, issuer, validity, subject,
    subjectPublicKeyInfo, [3] extensions."""
    tag, body, _ = der_read(cert.tbs_certificate_bytes)
    assert tag == 0x30
    return der_children(body)


# --- chapter fixtures ---------------------------------------------------------------------


@dataclass
class Chapter:
    """The chapter's CA and leaves, made with the library at known times."""

    algo: str
    ca: Dict[str, str]
    leaves: Dict[str, Dict[str, str]]
    config: Dict[str, Any]
    ca_now: datetime
    leaf_now: datetime
    warnings: Dict[str, List[str]] = field(default_factory=dict)

    def cert(self, name: str) -> cx509.Certificate:
        return load_cert(self.ca["cert"] if name == "ca" else self.leaves[name]["cert"])


def _record(fn: Callable[[], Any]) -> Tuple[Any, List[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught]


def make_chapter(algo: str, size: int, ca_now: datetime) -> Chapter:
    from kpkilite import signing

    config = seed("ca-config.json")
    ca_spec = with_key(seed("ca-csr.json"), algo, size)
    ca, ca_warnings = _record(lambda: signing.create_ca(ca_spec, now=ca_now))
    leaf_now = ca_now + timedelta(minutes=1)
    chapter = Chapter(algo, ca, {}, config, ca_now, leaf_now, {"ca": ca_warnings})
    for name, filename in CHAPTER_LEAVES.items():
        spec = with_key(seed(filename), algo, size)
        bundle, caught = _record(
            lambda spec=spec: signing.issue_cert(
                spec, ca_cert=ca["cert"], ca_key=ca["key"], config=config,
                profile="kubernetes", now=leaf_now,
            )
        )
        chapter.leaves[name] = bundle
        chapter.warnings[name] = caught
    return chapter


@pytest.fixture(scope="session")
def session_now() -> datetime:
    """The real current time, fixed once so tests can compute exact validity."""
    return datetime.now(timezone.utc).replace(microsecond=250_000)


@pytest.fixture(scope="session")
def rsa_chapter(session_now: datetime) -> Chapter:
    return make_chapter("rsa", 2048, session_now)


@pytest.fixture(scope="session")
def ec_chapter(session_now: datetime) -> Chapter:
    return make_chapter("ecdsa", 256, session_now)


@pytest.fixture(scope="session", params=["rsa", "ecdsa"])
def chapter(request: pytest.FixtureRequest) -> Chapter:
    """Both variants of the chapter: RSA 2048 as written, and every key ECDSA P-256."""
    name = "rsa_chapter" if request.param == "rsa" else "ec_chapter"
    result: Chapter = request.getfixturevalue(name)
    return result


_CA_CACHE: Dict[Tuple[str, int], Dict[str, str]] = {}


@pytest.fixture(scope="session")
def ca_of() -> Callable[[str, int], Dict[str, str]]:
    """``ca_of(algo, size)``: a CA made by create_ca with that key, cached per session."""
    from kpkilite import signing

    def get(algo: str, size: int) -> Dict[str, str]:
        if (algo, size) not in _CA_CACHE:
            _CA_CACHE[(algo, size)] = signing.create_ca(
                {"CN": "test %s %d CA" % (algo, size), "key": {"algo": algo, "size": size}}
            )
        return _CA_CACHE[(algo, size)]

    return get


@pytest.fixture(scope="session")
def ec_ca(ca_of: Callable[[str, int], Dict[str, str]]) -> Dict[str, str]:
    return ca_of("ecdsa", 256)


@pytest.fixture(scope="session")
def other_ca(ca_of: Callable[[str, int], Dict[str, str]]) -> Dict[str, str]:
    """An unrelated CA (for 'wrong CA' cases)."""
    return ca_of("ecdsa", 384)


# --- external tools -----------------------------------------------------------------------


def _tool(name: str) -> Optional[str]:
    return shutil.which(name) or (("/usr/bin/" + name) if Path("/usr/bin/" + name).exists()
                                  else None)


@pytest.fixture(scope="session")
def cfssl() -> str:
    """Path of the real cfssl binary; skips (only) when it is not installed."""
    path = _tool("cfssl")
    if path is None:
        pytest.skip("cfssl is not installed (Debian: apt-get install golang-cfssl)")
    return path


@pytest.fixture(scope="session")
def openssl() -> str:
    path = _tool("openssl")
    if path is None:
        pytest.skip("openssl is not installed")
    return path


def run(args: List[str], *, input: Optional[str] = None, check: bool = True,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s"
                             % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


@pytest.fixture
def write(tmp_path: Path) -> Iterator[Callable[[str, str], str]]:
    """``write(name, text)`` -> path of a new file in tmp_path."""

    def put(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    yield put


@pytest.fixture(scope="session")
def rsa8192_key() -> Any:
    """An RSA 8192 private key (cryptography), made once per session.

    Generated, never committed: private keys never live in the repository, even for tests.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(65537, 8192)
