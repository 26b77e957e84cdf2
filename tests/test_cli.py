"""The ``kpkilite`` command line: cfssl's command shapes, the chapter's flow, and bad input.

Most tests run the real program (``sys.executable -m kpkilite``) in a
subprocess, so what is checked is what a user sees: stdout, stderr, the exit
status and the files left behind. Oracles other than kpkilite: real cfssl's
output shape and ``print-defaults`` text, ``openssl verify``/``openssl x509``.

The bad-input table checks, for each case, the exact one-line message, an empty
stdout, the exit status (1 failure, 2 usage error) and a before/after snapshot
of the working directory (names, bytes, modes, inodes, mtimes): no file is
written, replaced or truncated. The whole table runs in-process through
``cli.main`` (fast; an escaping exception fails the test), and a sample of it
again as a subprocess, which must give byte-identical results.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from conftest import SEED, SHARED, seed
from cryptography import x509 as cx509
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = SHARED / "reference"

pytestmark = pytest.mark.skipif(not SEED.is_dir(), reason="../shared/seed-flow is missing")


# --- running the program ------------------------------------------------------------------


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONWARNINGS", None)
    return env


def kpki(*args: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m kpkilite ARGS`` in ``cwd``; stdout/stderr as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "kpkilite", *args],
        cwd=str(cwd), input=stdin, capture_output=True, timeout=60, env=_env(),
    )


def ok(*args: str, cwd: Path, stdin: bytes = b"") -> bytes:
    """Run and require success with nothing on stderr; returns stdout."""
    proc = kpki(*args, cwd=cwd, stdin=stdin)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b"", proc.stderr.decode()
    return proc.stdout


def pipe_bare(gencert_args: List[str], name: str, cwd: Path) -> Tuple[
        subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
    """``kpkilite gencert ARGS | kpkilite json -bare NAME`` as a real shell pipeline would."""
    first = kpki(*gencert_args, cwd=cwd)
    second = kpki("json", "-bare", name, cwd=cwd, stdin=first.stdout)
    return first, second


def in_process(argv: List[str], cwd: Path, stdin: bytes,
               monkeypatch: pytest.MonkeyPatch) -> Tuple[int, bytes, bytes]:
    """``cli.main(argv)`` with cwd, stdin, stdout and stderr swapped: (status, out, err)."""
    from kpkilite.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8",
                                                        write_through=True))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding="utf-8",
                                                        write_through=True))
    status = main(argv)
    return status, out.getvalue(), err.getvalue()


from _helpers import snapshot  # noqa: E402

# --- the working directory every bad-input case runs in -----------------------------------

LEAF_SPEC = {"CN": "leaf", "hosts": ["leaf.example", "10.0.0.1"],
             "key": {"algo": "ecdsa", "size": 256}}


@pytest.fixture(scope="module")
def ec_ca() -> Dict[str, str]:
    """An ECDSA CA with the chapter's 10-year expiry (so chapter-profile leaves are not cut)."""
    from kpkilite import signing

    return signing.create_ca({"CN": "cli test CA", "key": {"algo": "ecdsa", "size": 256},
                              "ca": {"expiry": "87600h"}})


def _der_of(pem: str) -> str:
    """The DER of a PEM certificate, as latin-1 text (pristine's files are written as text)."""
    import base64

    body = "".join(pem.strip().splitlines()[1:-1])
    return base64.b64decode(body).decode("latin-1")


def _mutated_basic_constraints(pem: str) -> str:
    from kpkilite._pem import format_pem

    der = _der_of(pem).encode("latin-1")
    bc = b"\x30\x03\x01\x01\xff"  # SEQUENCE { BOOLEAN TRUE }: CA:TRUE without pathlen
    assert der.count(bc) == 1
    return format_pem("CERTIFICATE", der.replace(bc, b"\x30\x03\x01\x80\xff"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, ec_ca: Dict[str, str],
             other_ca: Dict[str, str]) -> Path:
    """A directory with a CA, a leaf, the chapter's files and assorted broken inputs."""
    from kpkilite import signing

    d = tmp_path_factory.mktemp("pristine")
    for src in SEED.glob("*.json"):
        shutil.copy2(src, d / src.name)
    leaf = signing.issue_cert(LEAF_SPEC, ca_cert=ec_ca["cert"], ca_key=ec_ca["key"],
                              config={"signing": {"default": {
                                  "usages": ["signing", "server auth"], "expiry": "1h"}}})
    files = {
        "ca.pem": ec_ca["cert"], "ca-key.pem": ec_ca["key"], "ca.csr": ec_ca["csr"],
        "other-ca.pem": other_ca["cert"], "other-ca-key.pem": other_ca["key"],
        "leaf.pem": leaf["cert"], "leaf-key.pem": leaf["key"], "leaf.csr": leaf["csr"],
        "leaf.json": json.dumps(LEAF_SPEC),
        "ec-config.json": json.dumps({"signing": {"default": {
            "usages": ["signing", "server auth", "client auth"], "expiry": "8760h"}}}),
        "garbage.pem": "this is not PEM\n",
        "empty.pem": "",
        "trunc-ca.pem": ec_ca["cert"][:300],
        "trunc-key.pem": ec_ca["key"][:100],
        "trunc.json": '{"CN": "x", "hosts": [',
        "hosts-string.json": '{"CN": "x", "hosts": "a,b"}',
        "names-object.json": '{"CN": "x", "names": {"C": "US"}}',
        "cn-number.json": '{"CN": 5}',
        "size-string.json": '{"CN": "x", "key": {"algo": "ecdsa", "size": "256"}}',
        "rsa8192.json": '{"CN": "x", "key": {"algo": "rsa", "size": 8192}}',
        "country.json": '{"CN": "x", "names": [{"C": "USA"}]}',
        "latin1.json": b'{"CN": "caf\xe9"}'.decode("latin-1"),
        "bad-usage.json": json.dumps({"signing": {"profiles": {"web": {
            "usages": ["signing", "server auht"], "expiry": "1h"}}}}),
        "days.json": json.dumps({"signing": {"profiles": {"web": {
            "usages": ["server auth"], "expiry": "365d"}}}}),
        "not-object.json": "[1, 2]",
        "no-parts.json": '{"foo": 1}',
        "cert-int.json": '{"cert": 5}',
        "key-is-cert.json": json.dumps({"cert": leaf["cert"], "key": leaf["cert"]}),
        "leaf-bundle.json": json.dumps(leaf),
        "other-ca-bundle.json": json.dumps(other_ca),
        "list.json": "[]", "null.json": "null", "string.json": '"x"', "one.json": "1",
        "surrogate-cn.json": '{"CN": "\\ud800"}',
        "surrogate-o.json": '{"CN": "x", "names": [{"O": "ok"}, {"O": "a\\udc00"}]}',
        "surrogate-key.json": '{"CN": "x", "\\ud800": 1}',
        "surrogate-pem.json": '{"cert": "\\ud800"}',
        "huge-int.json": '{"CN": "x", "ca": {"pathlen": %s}}' % ("9" * 1001),
        "pathlen-2-64.json": '{"CN": "x", "ca": {"pathlen": 18446744073709551616}}',
        "pathlen-1e300.json": '{"CN": "x", "ca": {"pathlen": 1e300}}',
        "max-path-len.json": json.dumps({"signing": {"default": {
            "usages": ["cert sign"], "expiry": "1h",
            "ca_constraint": {"is_ca": True, "max_path_len": 2**31}}}}),
        # names that look like the library's parameter names (one substitution pass)
        "ca_key.pem": ec_ca["cert"], "ca_cert.pem": other_ca["key"],
        # the CA with its basicConstraints BOOLEAN made an indefinite-length primitive
        "bad-bc-ca.pem": _mutated_basic_constraints(ec_ca["cert"]),
        "ca.der": _der_of(ec_ca["cert"]),
    }
    for name, text in files.items():
        latin = name in ("latin1.json", "ca.der")
        (d / name).write_bytes(text.encode("latin-1" if latin else "utf-8"))
    (d / "leaf-key.pem").chmod(0o600)
    (d / "ca-key.pem").chmod(0o600)
    return d


@pytest.fixture
def workdir(pristine: Path, tmp_path: Path) -> Path:
    d = tmp_path / "w"
    shutil.copytree(pristine, d, symlinks=True)
    return d


# --- command shapes -----------------------------------------------------------------------


def test_python_dash_m_and_version(tmp_path: Path) -> None:
    from kpkilite import __version__

    out = ok("version", cwd=tmp_path).decode()
    runtime = ".".join(map(str, sys.version_info[:3]))
    assert out == "Version: %s\nRuntime: python%s\n" % (__version__, runtime)
    assert ok("--version", cwd=tmp_path).decode() == out


@pytest.mark.parametrize("what", ["config", "csr"])
def test_print_defaults_is_byte_identical_to_cfssl(what: str, tmp_path: Path) -> None:
    expected = (REFERENCE / ("print-defaults-%s.json" % what)).read_bytes()
    assert ok("print-defaults", what, cwd=tmp_path) == expected


def test_print_defaults_matches_live_cfssl(cfssl: str, tmp_path: Path) -> None:
    for what in ("config", "csr"):
        live = subprocess.run([cfssl, "print-defaults", what], capture_output=True, check=True)
        assert ok("print-defaults", what, cwd=tmp_path) == live.stdout


def _one_line_json(out: bytes) -> Dict[str, Any]:
    """cfssl's layout: exactly one line, newline-terminated, keys sorted, no spaces."""
    assert out.endswith(b"}\n") and out.count(b"\n") == 1
    doc: Dict[str, Any] = json.loads(out)
    assert list(doc) == sorted(doc)
    assert out == (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()
    return doc


def test_gencert_initca_output_shape_matches_real_cfssl(cfssl: str, tmp_path: Path) -> None:
    spec = tmp_path / "ca.json"
    spec.write_text(json.dumps({"CN": "shape CA", "key": {"algo": "ecdsa", "size": 256}}))
    theirs = subprocess.run([cfssl, "gencert", "-initca", str(spec)], capture_output=True,
                            check=True).stdout
    ours = ok("gencert", "-initca", "ca.json", cwd=tmp_path)
    a, b = _one_line_json(theirs), _one_line_json(ours)
    assert list(a) == list(b) == ["cert", "csr", "key"]
    assert b["cert"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert b["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----\n")
    assert b["key"].startswith("-----BEGIN EC PRIVATE KEY-----\n")
    for doc in (a, b):
        assert all(v.endswith("-----\n") for v in doc.values())


def test_genkey_output_shape_matches_real_cfssl(cfssl: str, workdir: Path) -> None:
    theirs = subprocess.run([cfssl, "genkey", "leaf.json"], cwd=workdir, capture_output=True,
                            check=True).stdout
    ours = ok("genkey", "leaf.json", cwd=workdir)
    assert list(_one_line_json(theirs)) == list(_one_line_json(ours)) == ["csr", "key"]


def test_genkey_initca_makes_a_self_signed_ca(workdir: Path) -> None:
    doc = _one_line_json(ok("genkey", "-initca", "leaf.json", cwd=workdir))
    assert list(doc) == ["cert", "csr", "key"]
    cert = cx509.load_pem_x509_certificate(doc["cert"].encode())
    assert cert.issuer == cert.subject
    assert cert.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca


# The same request spelled every way Go's flag package (and so cfssl) accepts.
FLAG_SPELLINGS = [
    ["-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ca-config.json", "-profile=kubernetes"],
    ["-ca", "ca.pem", "-ca-key", "ca-key.pem", "-config", "ca-config.json",
     "-profile", "kubernetes"],
    ["--ca=ca.pem", "--ca-key=ca-key.pem", "--config=ca-config.json", "--profile=kubernetes"],
    ["--ca", "ca.pem", "--ca-key", "ca-key.pem", "--config", "ca-config.json",
     "--profile", "kubernetes"],
]


@pytest.mark.parametrize("flags", FLAG_SPELLINGS, ids=["-x=v", "-x v", "--x=v", "--x v"])
def test_gencert_with_ca_every_flag_spelling(flags: List[str], workdir: Path) -> None:
    proc = kpki("gencert", *flags, "leaf.json", cwd=workdir)
    assert proc.returncode == 0
    # ECDSA leaf + the chapter's profile: RFC 8813 drops key encipherment, with a warning.
    assert proc.stderr.decode() == ("kpkilite: warning: profile 'kubernetes': 'key "
                                    "encipherment' dropped for an ECDSA key (RFC 8813)\n")
    doc = _one_line_json(proc.stdout)
    cert = cx509.load_pem_x509_certificate(doc["cert"].encode())
    ca = cx509.load_pem_x509_certificate((workdir / "ca.pem").read_bytes())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert [str(n.value) for n in sans] == ["leaf.example", "10.0.0.1"]


@pytest.mark.parametrize("spelling", ["-initca", "-initca=true", "--initca", "-initca=1",
                                      "--initca=t"])
def test_initca_bool_spellings(spelling: str, workdir: Path) -> None:
    doc = _one_line_json(ok("gencert", spelling, "leaf.json", cwd=workdir))
    cert = cx509.load_pem_x509_certificate(doc["cert"].encode())
    assert cert.issuer == cert.subject


def test_initca_false_means_sign_with_the_ca(workdir: Path) -> None:
    # -initca=false is Go's explicit "off": without -ca this is the missing-flag usage error.
    proc = kpki("gencert", "-initca=false", "leaf.json", cwd=workdir)
    assert proc.returncode == 2
    assert proc.stderr.decode() == ("kpkilite: gencert: -ca FILE is required to sign "
                                    "(or -initca for a new self-signed CA)\n")


def test_flags_after_the_argument_and_double_dash(workdir: Path) -> None:
    out = ok("gencert", "leaf.json", "-initca", cwd=workdir)
    assert set(_one_line_json(out)) == {"cert", "csr", "key"}
    proc = kpki("gencert", "-initca", "--", "-odd.json", cwd=workdir)
    assert proc.returncode == 1
    assert proc.stderr.decode() == "kpkilite: -odd.json: CSR spec does not exist\n"


SANS_KUBERNETES = ["leaf.example", "10.0.0.1"]


@pytest.mark.parametrize("hostname, expected", [
    ("a.example,10.1.2.3", ["a.example", "10.1.2.3"]),
    (" a.example , b.example ", ["a.example", "b.example"]),
    ("", SANS_KUBERNETES),  # cfssl: an empty -hostname means "not given"
])
def test_gencert_hostname_replaces_the_spec_hosts(hostname: str, expected: List[str],
                                                 workdir: Path) -> None:
    out = kpki("gencert", "-ca", "ca.pem", "-ca-key", "ca-key.pem", "-hostname", hostname,
               "leaf.json", cwd=workdir).stdout
    cert = cx509.load_pem_x509_certificate(_one_line_json(out)["cert"].encode())
    sans = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert [str(n.value) for n in sans] == expected


@pytest.mark.parametrize("how", ["argument", "-csr flag", "stdin"])
def test_sign_a_csr(how: str, workdir: Path) -> None:
    base = ["sign", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ec-config.json",
            "-hostname=signed.example"]
    stdin = b""
    if how == "argument":
        args = base + ["leaf.csr"]
    elif how == "-csr flag":
        args = base + ["-csr", "leaf.csr"]
    else:
        args, stdin = base + ["-"], (workdir / "leaf.csr").read_bytes()
    doc = _one_line_json(ok(*args, cwd=workdir, stdin=stdin))
    assert list(doc) == ["cert"]
    cert = cx509.load_pem_x509_certificate(doc["cert"].encode())
    cert.verify_directly_issued_by(
        cx509.load_pem_x509_certificate((workdir / "ca.pem").read_bytes()))
    sans = cert.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value
    assert [str(n.value) for n in sans] == ["signed.example"]
    csr = cx509.load_pem_x509_csr((workdir / "leaf.csr").read_bytes())
    assert cert.public_key() == csr.public_key()


def test_sign_output_through_json_bare_writes_only_the_cert(workdir: Path) -> None:
    out = ok("sign", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ec-config.json", "leaf.csr",
             cwd=workdir)
    assert ok("json", "-bare", "signed", cwd=workdir, stdin=out) == b""
    assert sorted(p.name for p in workdir.glob("signed*")) == ["signed.pem"]
    assert (workdir / "signed.pem").read_text() == json.loads(out)["cert"]


@pytest.mark.parametrize("source", ["stdin", "-f FILE"])
def test_json_bare_writes_three_files(source: str, workdir: Path) -> None:
    bundle = (workdir / "leaf-bundle.json").read_bytes()
    if source == "stdin":
        ok("json", "-bare", "out", cwd=workdir, stdin=bundle)
    else:
        ok("json", "-bare", "-f", "leaf-bundle.json", "out", cwd=workdir)
    doc = json.loads(bundle)
    assert (workdir / "out.pem").read_text() == doc["cert"]
    assert (workdir / "out-key.pem").read_text() == doc["key"]
    assert (workdir / "out.csr").read_text() == doc["csr"]
    assert stat.S_IMODE((workdir / "out-key.pem").stat().st_mode) == 0o600
    assert not [p for p in workdir.iterdir() if p.name.startswith(".")]


def test_json_bare_without_name_writes_cert_files_like_cfssljson(workdir: Path) -> None:
    ok("json", "-bare", "-f", "leaf-bundle.json", cwd=workdir)
    assert all((workdir / n).is_file() for n in ("cert.pem", "cert-key.pem", "cert.csr"))


def test_json_stdout_prints_the_pem_parts(workdir: Path) -> None:
    doc = json.loads((workdir / "leaf-bundle.json").read_bytes())
    out = ok("json", "-stdout", "-bare", "-f", "leaf-bundle.json", cwd=workdir).decode()
    assert out == doc["cert"] + doc["key"] + doc["csr"]


def test_json_bare_force_replaces_a_ca_key(workdir: Path) -> None:
    ok("json", "-bare", "-force", "-f", "other-ca-bundle.json", "ca", cwd=workdir)
    assert (workdir / "ca-key.pem").read_text() == (workdir / "other-ca-key.pem").read_text()
    assert stat.S_IMODE((workdir / "ca-key.pem").stat().st_mode) == 0o600


def test_json_bare_same_ca_again_is_fine(workdir: Path, ec_ca: Dict[str, str]) -> None:
    same = json.dumps(ec_ca).encode()
    ok("json", "-bare", "ca", cwd=workdir, stdin=same)
    assert (workdir / "ca-key.pem").read_text() == ec_ca["key"]


@pytest.mark.parametrize("kind", ["-cert", "-csr"])
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_certinfo(kind: str, via: str, workdir: Path) -> None:
    name = "leaf.pem" if kind == "-cert" else "leaf.csr"
    if via == "file":
        out = ok("certinfo", kind, name, cwd=workdir)
    else:
        out = ok("certinfo", kind, "-", cwd=workdir, stdin=(workdir / name).read_bytes())
    info = json.loads(out)
    assert info["subject"]["common_name"] == "leaf"
    assert info["sans"] == ["leaf.example", "10.0.0.1"]
    if kind == "-cert":
        ref = json.loads((REFERENCE / "certinfo-kubernetes.json").read_text())
        assert list(info) == list(ref)
        assert info["pem"] == (workdir / name).read_text()


def test_help_goes_to_stdout_and_no_args_is_a_usage_error(tmp_path: Path) -> None:
    out = ok("--help", cwd=tmp_path).decode()
    for name in ("gencert", "genkey", "sign", "print-defaults", "version", "json", "certinfo"):
        assert "\n  %s " % name in out
    assert "-ca-key FILE" in ok("gencert", "-h", cwd=tmp_path).decode()
    proc = kpki(cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == b"" and proc.stderr.startswith(b"usage:")


def test_unknown_spec_key_warns_and_succeeds(workdir: Path) -> None:
    (workdir / "typo.json").write_text('{"CN": "x", "host": ["a.example"]}')
    proc = kpki("gencert", "-initca", "typo.json", cwd=workdir)
    assert proc.returncode == 0
    assert proc.stderr.decode() == (
        "kpkilite: warning: unknown key 'host' is ignored; did you mean 'hosts'?\n")
    assert set(_one_line_json(proc.stdout)) == {"cert", "csr", "key"}


def test_warnings_are_not_printed_after_a_failure(workdir: Path) -> None:
    (workdir / "typo.json").write_text('{"CN": "x", "host": ["a.example"]}')
    proc = kpki("gencert", "-ca=ca.pem", "-ca-key=other-ca-key.pem", "typo.json", cwd=workdir)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode() == ("kpkilite: -ca-key other-ca-key.pem does not match -ca "
                                    "ca.pem (their public keys differ); pass the CA's own key\n")


# --- the chapter's whole flow -------------------------------------------------------------

CHAPTER = ["kubernetes", "admin", "kube-proxy", "kube-controller-manager", "kube-scheduler"]


def test_seed_flow_through_the_cli(tmp_path: Path, openssl: str) -> None:
    for src in SEED.glob("*.json"):
        shutil.copy2(src, tmp_path / src.name)
    first, second = pipe_bare(["gencert", "-initca", "ca-csr.json"], "ca", tmp_path)
    assert (first.returncode, first.stderr, second.returncode, second.stderr) == (0, b"", 0, b"")
    for name in CHAPTER:
        first, second = pipe_bare(["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem",
                                   "-config=ca-config.json", "-profile=kubernetes",
                                   name + "-csr.json"], name, tmp_path)
        assert (first.returncode, first.stderr) == (0, b""), first.stderr
        assert (second.returncode, second.stdout, second.stderr) == (0, b"", b"")
    for name in ["ca"] + CHAPTER:
        for suffix, mode in ((".pem", 0o644), ("-key.pem", 0o600), (".csr", 0o644)):
            path = tmp_path / (name + suffix)
            assert path.stat().st_size > 0
            if suffix == "-key.pem":
                assert stat.S_IMODE(path.stat().st_mode) == mode
    verify = subprocess.run([openssl, "verify", "-CAfile", "ca.pem"]
                            + [n + ".pem" for n in CHAPTER],
                            cwd=tmp_path, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.splitlines() == ["%s.pem: OK" % n for n in CHAPTER]
    sans = subprocess.run([openssl, "x509", "-in", "kubernetes.pem", "-noout", "-ext",
                           "subjectAltName"], cwd=tmp_path, capture_output=True, text=True)
    hosts = seed("kubernetes-csr.json")["hosts"]
    dns = ["DNS:" + h for h in hosts if not h[0].isdigit()]
    ips = ["IP Address:" + h for h in hosts if h[0].isdigit()]
    assert sans.stdout.split("\n", 1)[1].strip() == ", ".join(dns + ips)
    for name in CHAPTER:
        pub_cert = subprocess.run([openssl, "x509", "-in", name + ".pem", "-noout", "-pubkey"],
                                  cwd=tmp_path, capture_output=True, check=True).stdout
        pub_key = subprocess.run([openssl, "pkey", "-in", name + "-key.pem", "-pubout"],
                                 cwd=tmp_path, capture_output=True, check=True).stdout
        assert pub_cert == pub_key and pub_cert.startswith(b"-----BEGIN PUBLIC KEY-----")


# --- bad input: exact message, empty stdout, exit status, nothing written ------------------

GENCERT = ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=ca-config.json",
           "-profile=kubernetes"]
SIGN = ["sign", "-ca=ca.pem", "-ca-key=ca-key.pem"]

MISMATCH = ("-ca-key other-ca-key.pem does not match -ca ca.pem (their public keys differ); "
            "pass the CA's own key")

# (id, argv, stdin, exit status, the one stderr line without the "kpkilite: " prefix)
BAD_INPUTS: List[Tuple[str, List[str], bytes, int, str]] = [
    # the chapter's own typos
    ("book-kcm-trailing-comma", GENCERT + ["kube-controller-manager-csr-book.json"], b"", 1,
     "kube-controller-manager-csr-book.json:11:25: trailing comma after the last item of a "
     "list (JSON allows none); delete it"),
    ("book-scheduler-trailing-comma", GENCERT + ["kube-scheduler-csr-book.json"], b"", 1,
     "kube-scheduler-csr-book.json:7:25: trailing comma after the last item of a list "
     "(JSON allows none); delete it"),
    ("en-dash-profile", GENCERT[:4] + ["\u2013profile=kubernetes", "kube-proxy-csr.json"], b"",
     2, "gencert: unknown argument '\u2013profile=kubernetes': it starts with an en dash "
     "(U+2013), not a hyphen '-'; did you mean -profile=kubernetes?"),
    ("em-dash-ca", ["gencert", "\u2014ca", "ca.pem", "leaf.json"], b"", 2,
     "gencert: unknown argument '\u2014ca': it starts with an em dash (U+2014), not a hyphen "
     "'-'; did you mean -ca?"),
    # flags
    ("minus-sign-ca", ["gencert", "\u2212ca=ca.pem", "leaf.json"], b"", 2,
     "gencert: unknown argument '\u2212ca=ca.pem': it starts with a minus sign (U+2212), not a "
     "hyphen '-'; did you mean -ca=ca.pem?"),
    ("en-dash-with-newline", ["gencert", "\u2013ca=a\nb", "leaf.json"], b"", 2,
     "gencert: unknown argument '\u2013ca=a\\nb': it starts with an en dash (U+2013), not a "
     "hyphen '-'; did you mean -ca?"),
    ("flag-with-newline", ["gencert", "-x\ny", "leaf.json"], b"", 2,
     "gencert: unknown flag '-x\\ny'"),
    ("typo-profle", GENCERT[:4] + ["-profle=kubernetes", "leaf.json"], b"", 2,
     "gencert: unknown flag '-profle=kubernetes'; did you mean -profile?"),
    ("typo-ca-ky", ["gencert", "-ca=ca.pem", "--ca-ky", "ca-key.pem", "leaf.json"], b"", 2,
     "gencert: unknown flag '--ca-ky'; did you mean -ca-key?"),
    ("unknown-flag-no-guess", ["gencert", "-zzzzzz", "leaf.json"], b"", 2,
     "gencert: unknown flag '-zzzzzz'"),
    ("flag-without-value", ["gencert", "leaf.json", "-ca"], b"", 2,
     "gencert: flag -ca needs a value (-ca=FILE)"),
    ("bool-flag-bad-value", ["gencert", "-initca=yes", "leaf.json"], b"", 2,
     "gencert: -initca takes true or false, got 'yes'"),
    ("missing-ca-key", ["gencert", "-ca=ca.pem", "leaf.json"], b"", 2,
     "gencert: -ca-key FILE is required to sign (or -initca for a new self-signed CA)"),
    ("missing-ca", ["gencert", "-ca-key=ca-key.pem", "leaf.json"], b"", 2,
     "gencert: -ca FILE is required to sign (or -initca for a new self-signed CA)"),
    ("sign-missing-ca-key", ["sign", "-ca=ca.pem", "leaf.csr"], b"", 2,
     "sign: -ca-key FILE is required to sign"),
    ("sign-missing-csr", SIGN, b"", 2,
     "sign: missing CSR file; usage: kpkilite sign -ca FILE -ca-key FILE [-config FILE] "
     "[-profile NAME] [-hostname HOSTS] CSR"),
    ("initca-with-ca-key", ["gencert", "-initca", "-ca-key=ca-key.pem", "leaf.json"], b"", 2,
     "gencert: -initca makes a new self-signed CA with a new key; drop -ca/-ca-key "
     "(re-signing a CA with its existing key is not supported)"),
    ("no-argument", ["gencert", "-initca"], b"", 2,
     "gencert: missing argument; usage: kpkilite gencert -initca CSRJSON | gencert -ca FILE "
     "-ca-key FILE [-config FILE] [-profile NAME] [-hostname HOSTS] CSRJSON"),
    ("extra-argument", ["genkey", "leaf.json", "more.json"], b"", 2,
     "genkey: unexpected argument 'more.json'; usage: kpkilite genkey [-initca] CSRJSON"),
    ("unknown-command", ["gencrt", "-initca", "leaf.json"], b"", 2,
     "unknown command 'gencrt'; did you mean 'gencert'? (see 'kpkilite --help')"),
    ("print-defaults-typo", ["print-defaults", "cnfig"], b"", 2,
     "print-defaults: unknown item 'cnfig'; choose config or csr (did you mean config?)"),
    ("certinfo-neither", ["certinfo"], b"", 2,
     "certinfo: give exactly one of -cert FILE or -csr FILE"),
    # missing files
    ("missing-spec", GENCERT + ["nope.json"], b"", 1, "nope.json: CSR spec does not exist"),
    ("missing-ca-file", ["gencert", "-ca=nope.pem", "-ca-key=ca-key.pem", "leaf.json"], b"", 1,
     "nope.pem: CA certificate does not exist"),
    ("missing-ca-key-file", ["gencert", "-ca=ca.pem", "-ca-key=nope.pem", "leaf.json"], b"", 1,
     "nope.pem: CA key does not exist"),
    ("missing-config", ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem", "-config=nope.json",
                        "leaf.json"], b"", 1, "nope.json: signing config does not exist"),
    ("missing-csr", SIGN + ["nope.csr"], b"", 1, "nope.csr: CSR does not exist"),
    ("directory-as-spec", ["gencert", "-initca", "."], b"", 1,
     ".: is a directory, not a CSR spec"),
    # wrong CA material
    ("ca-key-mismatch", ["gencert", "-ca=ca.pem", "-ca-key=other-ca-key.pem", "leaf.json"],
     b"", 1, MISMATCH),
    ("sign-ca-key-mismatch", ["sign", "-ca=ca.pem", "-ca-key=other-ca-key.pem", "leaf.csr"],
     b"", 1, MISMATCH),
    ("leaf-as-ca", ["gencert", "-ca=leaf.pem", "-ca-key=leaf-key.pem", "leaf.json"], b"", 1,
     "-ca leaf.pem: 'CN=leaf' is not a CA certificate (no basicConstraints CA:TRUE); "
     "sign with the CA's certificate"),
    ("key-as-ca", ["gencert", "-ca=ca-key.pem", "-ca-key=ca-key.pem", "leaf.json"], b"", 1,
     "-ca ca-key.pem: expected a CERTIFICATE PEM block, found EC PRIVATE KEY"),
    ("cert-as-ca-key", ["gencert", "-ca=ca.pem", "-ca-key=ca.pem", "leaf.json"], b"", 1,
     "-ca-key ca.pem: expected a private key PEM block (RSA PRIVATE KEY, EC PRIVATE KEY or "
     "PRIVATE KEY), got CERTIFICATE"),
    # garbage, truncated, empty
    ("garbage-ca", ["gencert", "-ca=garbage.pem", "-ca-key=ca-key.pem", "leaf.json"], b"", 1,
     "-ca garbage.pem: expected a CERTIFICATE PEM block, found no PEM block"),
    ("truncated-ca", ["gencert", "-ca=trunc-ca.pem", "-ca-key=ca-key.pem", "leaf.json"], b"",
     1, "-ca trunc-ca.pem: CERTIFICATE PEM block has no '-----END CERTIFICATE-----' line"),
    ("empty-ca", ["gencert", "-ca=empty.pem", "-ca-key=ca-key.pem", "leaf.json"], b"", 1,
     "-ca empty.pem: expected a CERTIFICATE PEM block, found empty input"),
    ("garbage-ca-key", ["gencert", "-ca=ca.pem", "-ca-key=garbage.pem", "leaf.json"], b"", 1,
     "-ca-key garbage.pem: not a PEM or DER private key"),
    ("truncated-ca-key", ["gencert", "-ca=ca.pem", "-ca-key=trunc-key.pem", "leaf.json"], b"",
     1, "-ca-key trunc-key.pem: malformed PEM: expected -----BEGIN ...----- base64 "
     "-----END ...-----"),
    ("empty-ca-key", ["gencert", "-ca=ca.pem", "-ca-key=empty.pem", "leaf.json"], b"", 1,
     "-ca-key empty.pem: expected a private key, got empty input"),
    ("empty-spec", ["gencert", "-initca", "empty.pem"], b"", 1,
     "empty.pem: empty input, expected a JSON object"),
    ("garbage-spec", ["genkey", "garbage.pem"], b"", 1,
     "garbage.pem:1:1: invalid JSON: Expecting value"),
    ("truncated-spec", ["gencert", "-initca", "trunc.json"], b"", 1,
     "trunc.json:1:23: invalid JSON: Expecting value"),
    ("latin1-spec", ["gencert", "-initca", "latin1.json"], b"", 1,
     "latin1.json:1:12: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    ("garbage-csr", SIGN + ["garbage.pem"], b"", 1,
     "garbage.pem: expected a CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST PEM block, "
     "found no PEM block"),
    ("cert-as-csr", SIGN + ["leaf.pem"], b"", 1,
     "leaf.pem: expected a CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST PEM block, "
     "found CERTIFICATE"),
    ("empty-csr-stdin", SIGN + ["-"], b"", 1,
     "<stdin>: expected a CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST PEM block, "
     "found empty input"),
    ("certinfo-garbage", ["certinfo", "-cert", "garbage.pem"], b"", 1,
     "garbage.pem: expected a CERTIFICATE PEM block, found no PEM block"),
    ("certinfo-csr-is-cert", ["certinfo", "-csr", "leaf.pem"], b"", 1,
     "leaf.pem: expected a CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST PEM block, "
     "found CERTIFICATE"),
    ("certinfo-truncated-stdin", ["certinfo", "-cert", "-"], b"-----BEGIN CERTIFICATE-----\n",
     1, "<stdin>: CERTIFICATE PEM block has no '-----END CERTIFICATE-----' line"),
    # bad JSON types and values in the CSR spec
    ("hosts-string", GENCERT + ["hosts-string.json"], b"", 1,
     'hosts-string.json: hosts: expected a list of strings, got a string; write ["a", "b"]'),
    ("names-object", ["gencert", "-initca", "names-object.json"], b"", 1,
     "names-object.json: names: expected a list of objects, got an object"),
    ("cn-number", ["genkey", "cn-number.json"], b"", 1,
     "cn-number.json: CN: expected a string, got a number"),
    ("size-string", ["genkey", "size-string.json"], b"", 1,
     "size-string.json: key.size: expected an integer, got a string '256'"),
    ("rsa-8192", ["genkey", "rsa8192.json"], b"", 1,
     "rsa8192.json: key.size: 8192 is not supported for rsa keys; supported sizes: 2048, "
     "3072, 4096"),
    ("country-3-letters", ["genkey", "country.json"], b"", 1,
     "country.json: names[0].C: expected a 2-letter country code, got 'USA'"),
    # the signing config and profile
    ("unknown-profile", GENCERT[:4] + ["-profile=kubernets", "leaf.json"], b"", 1,
     "ca-config.json: profile 'kubernets' is not in the signing config; did you mean "
     "'kubernetes'? (profiles: kubernetes)"),
    ("default-profile-without-usages", GENCERT[:4] + ["leaf.json"], b"", 1,
     "ca-config.json: profile 'default' has no usages; choose one with -profile "
     "(profiles: kubernetes)"),
    ("profile-without-config", ["gencert", "-ca=ca.pem", "-ca-key=ca-key.pem",
                                "-profile=kubernetes", "leaf.json"], b"", 1,
     "-profile kubernetes: there is no -config FILE, and cfssl's built-in default config has "
     "no profiles; add -config FILE"),
    ("unknown-usage", GENCERT[:3] + ["-config=bad-usage.json", "-profile=web", "leaf.json"],
     b"", 1, "bad-usage.json: signing.profiles.web.usages[1]: unknown usage 'server auht'; "
     "did you mean 'server auth'?"),
    ("expiry-in-days", GENCERT[:3] + ["-config=days.json", "-profile=web", "leaf.json"], b"",
     1, "days.json: signing.profiles.web.expiry: unknown unit 'd' in duration '365d' (Go "
     "durations have no 'd' unit; use hours, e.g. 87600h for 10 years)"),
    ("config-trailing-garbage", GENCERT[:3] + ["-config=leaf.pem", "leaf.json"], b"", 1,
     "leaf.pem:1:1: invalid JSON: Expecting value"),
    # -hostname
    ("hostname-empty-label", GENCERT + ["-hostname=a..b", "leaf.json"], b"", 1,
     "-hostname: 'a..b': host name has an empty label (a leading, trailing or double dot)"),
    ("hostname-non-ascii", GENCERT + ["-hostname=b\u00fccher.de", "leaf.json"], b"", 1,
     "-hostname: 'b\u00fccher.de': non-ASCII host name; write it in its ASCII form "
     "'xn--bcher-kva.de'"),
    ("hostname-empty-item", GENCERT + ["-hostname=a,,b", "leaf.json"], b"", 2,
     "-hostname 'a,,b': empty host name between commas; write a,b"),
    ("sign-hostname-wildcard", SIGN + ["-hostname=a.*.example", "leaf.csr"], b"", 1,
     "-hostname: 'a.*.example': a wildcard must be the whole left-most label, as in "
     "*.example.com"),
    # json -bare
    ("json-empty-stdin", ["json", "-bare", "out"], b"", 1,
     "<stdin>: empty input, expected a JSON object (did the command before the pipe fail?)"),
    ("json-no-parts", ["json", "-bare", "out"], b'{"foo": 1}', 1,
     "<stdin>: the JSON input has no cert, key or csr to write"),
    ("json-not-object", ["json", "-bare", "-f", "not-object.json", "out"], b"", 1,
     "not-object.json: expected a JSON object with cert/key/csr"),
    ("json-cert-int", ["json", "-bare", "-f", "cert-int.json", "out"], b"", 1,
     "cert-int.json: cert: expected PEM text, got int"),
    ("json-key-is-cert", ["json", "-bare", "-f", "key-is-cert.json", "out"], b"", 1,
     "key-is-cert.json: key: expected an RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY PEM "
     "block, found CERTIFICATE"),
    ("json-missing-file", ["json", "-bare", "-f", "nope.json", "out"], b"", 1,
     "nope.json: JSON input does not exist"),
    ("json-book-comma", ["json", "-bare", "-f", "kube-scheduler-csr-book.json", "out"], b"", 1,
     "kube-scheduler-csr-book.json:7:25: trailing comma after the last item of a list (JSON "
     "allows none); delete it"),
    ("json-without-bare", ["json", "-f", "leaf-bundle.json", "out"], b"", 1,
     'leaf-bundle.json: not a cfssl API response (no "result"); for the output of gencert, '
     "genkey or sign, add -bare"),
    ("json-missing-directory", ["json", "-bare", "-f", "leaf-bundle.json", "nodir/out"], b"", 1,
     "nodir/out.pem: directory nodir does not exist"),
    ("json-empty-name", ["json", "-bare", "-f", "leaf-bundle.json", ""], b"", 1,
     "-bare: '' is not a usable base name"),
    ("json-overwrite-ca-key", ["json", "-bare", "-f", "other-ca-bundle.json", "ca"], b"", 1,
     "ca-key.pem: refusing to overwrite an existing CA private key (every certificate it "
     "signed would be orphaned); move it away first, or use -force"),
    ("json-leaf-over-ca-key", ["json", "-bare", "-f", "leaf-bundle.json", "ca"], b"", 1,
     "ca-key.pem: refusing to overwrite an existing CA private key (every certificate it "
     "signed would be orphaned); move it away first, or use -force"),
    # a spec or config that is JSON but not an object
    ("config-list", GENCERT[:3] + ["-config=list.json", "leaf.json"], b"", 1,
     "list.json: expected a JSON object (a signing config), got a list"),
    ("config-null", GENCERT[:3] + ["-config=null.json", "leaf.json"], b"", 1,
     "null.json: expected a JSON object (a signing config), got null"),
    ("spec-list", ["gencert", "-initca", "list.json"], b"", 1,
     "list.json: expected a JSON object (a CSR spec), got a list"),
    ("spec-string", ["gencert", "-initca", "string.json"], b"", 1,
     "string.json: expected a JSON object (a CSR spec), got a string"),
    ("spec-number-genkey", ["genkey", "one.json"], b"", 1,
     "one.json: expected a JSON object (a CSR spec), got a number"),
    ("spec-null-stdin", GENCERT + ["-"], b"null", 1,
     "<stdin>: expected a JSON object (a CSR spec), got null"),
    # unpaired surrogates (JSON "\ud800" escapes) anywhere in a document
    ("surrogate-cn", ["gencert", "-initca", "surrogate-cn.json"], b"", 1,
     "surrogate-cn.json: CN: contains an unpaired surrogate (a lone \\ud800-\\udfff escape), "
     "which is not text"),
    ("surrogate-names-o", ["genkey", "surrogate-o.json"], b"", 1,
     "surrogate-o.json: names[1].O: contains an unpaired surrogate (a lone \\ud800-\\udfff "
     "escape), which is not text"),
    ("surrogate-key", ["genkey", "surrogate-key.json"], b"", 1,
     "surrogate-key.json: a key of the top-level object: contains an unpaired surrogate (a "
     "lone \\ud800-\\udfff escape), which is not text"),
    ("surrogate-json-bare", ["json", "-bare", "-f", "surrogate-pem.json", "out"], b"", 1,
     "surrogate-pem.json: cert: contains an unpaired surrogate (a lone \\ud800-\\udfff "
     "escape), which is not text"),
    ("surrogate-json-stdout", ["json", "-bare", "-stdout"], b'{"key": "\\udfff"}', 1,
     "<stdin>: key: contains an unpaired surrogate (a lone \\ud800-\\udfff escape), which "
     "is not text"),
    # numbers
    ("json-int-1001-digits", ["gencert", "-initca", "huge-int.json"], b"", 1,
     "huge-int.json: invalid JSON value 1001-digit integer is too large"),
    ("pathlen-2-64", ["gencert", "-initca", "pathlen-2-64.json"], b"", 1,
     "pathlen-2-64.json: ca.pathlen: a 20-digit number is too large; at most 2147483647 (Go "
     "reads a path length as a 32-bit int, and no chain is that deep)"),
    ("pathlen-1e300", ["gencert", "-initca", "pathlen-1e300.json"], b"", 1,
     "pathlen-1e300.json: ca.pathlen: a 301-digit number is too large; at most 2147483647 "
     "(Go reads a path length as a 32-bit int, and no chain is that deep)"),
    ("max-path-len-2-31", GENCERT[:3] + ["-config=max-path-len.json", "leaf.json"], b"", 1,
     "max-path-len.json: signing.default.ca_constraint.max_path_len: 2147483648 is too "
     "large; at most 2147483647 (Go reads a path length as a 32-bit int, and no chain is "
     "that deep)"),
    ("int-flag-5000-digits", ["cron", "* * * * *", "-n", "9" * 5000], b"", 2,
     "cron: -n a 5000-digit number is too large (at most 9 digits)"),
    ("int-flag-10-digits", ["cron", "* * * * *", "-n=1234567890"], b"", 2,
     "cron: -n 1234567890 is too large (at most 9 digits)"),
    ("cron-n-too-many", ["cron", "* * * * *", "-n", "100001"], b"", 2,
     "cron: -n 100001 is too many; at most 100000"),
    # file names holding the library's parameter names are substituted once
    ("param-names-in-file-names", ["gencert", "-ca", "ca_key.pem", "-ca-key", "ca_cert.pem",
                                   "leaf.json"], b"", 1,
     "-ca-key ca_cert.pem does not match -ca ca_key.pem (their public keys differ); pass "
     "the CA's own key"),
    # corrupt CA certificates and the wrong DER: one line, saying what it is
    ("ca-corrupt-basic-constraints", ["gencert", "-ca=bad-bc-ca.pem", "-ca-key=ca-key.pem",
                                      "leaf.json"], b"", 1,
     "-ca bad-bc-ca.pem: expected a certificate, found invalid DER: indefinite-length "
     "element must be constructed"),
    ("sign-ca-corrupt-basic-constraints", ["sign", "-ca=bad-bc-ca.pem", "-ca-key=ca-key.pem",
                                           "leaf.csr"], b"", 1,
     "-ca bad-bc-ca.pem: expected a certificate, found invalid DER: indefinite-length "
     "element must be constructed"),
    ("sign-cert-der-as-csr", SIGN + ["ca.der"], b"", 1,
     "ca.der: expected a certificate request, found CERTIFICATE DER"),
    # inputs too large to be what they should be
    ("certinfo-dev-zero", ["certinfo", "-cert", "/dev/zero"], b"", 1,
     "/dev/zero: larger than 16 MiB; not a certificate"),
    ("initca-dev-zero", ["gencert", "-initca", "/dev/zero"], b"", 1,
     "/dev/zero: larger than 16 MiB; not a CSR spec"),
    ("ca-dev-zero", ["gencert", "-ca=/dev/zero", "-ca-key=ca-key.pem", "leaf.json"], b"", 1,
     "/dev/zero: larger than 16 MiB; not a CA certificate"),
    ("json-f-dev-zero", ["json", "-bare", "-f", "/dev/zero", "out"], b"", 1,
     "/dev/zero: larger than 16 MiB; not a JSON input"),
]


@pytest.mark.parametrize("argv, stdin, status, message",
                         [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_input(argv: List[str], stdin: bytes, status: int, message: str, workdir: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(workdir)
    got = in_process(argv, workdir, stdin, monkeypatch)
    after = snapshot(workdir)
    assert got == (status, b"", ("kpkilite: %s\n" % message).encode("utf-8"))
    assert after == before


#: the same cases through a real process: one of each kind of failure
SUBPROCESS_SAMPLE = ["book-kcm-trailing-comma", "en-dash-profile", "missing-ca-key",
                     "ca-key-mismatch", "hosts-string", "unknown-profile", "hostname-non-ascii",
                     "json-empty-stdin", "json-overwrite-ca-key", "empty-csr-stdin"]


@pytest.mark.parametrize("argv, stdin, status, message",
                         [case[1:] for case in BAD_INPUTS if case[0] in SUBPROCESS_SAMPLE],
                         ids=[case[0] for case in BAD_INPUTS if case[0] in SUBPROCESS_SAMPLE])
def test_bad_input_subprocess(argv: List[str], stdin: bytes, status: int, message: str,
                              workdir: Path) -> None:
    before = snapshot(workdir)
    proc = kpki(*argv, cwd=workdir, stdin=stdin)
    after = snapshot(workdir)
    assert proc.stderr.decode("utf-8") == "kpkilite: %s\n" % message
    assert (proc.returncode, proc.stdout) == (status, b"")
    assert after == before


def test_bad_input_ids_are_unique_and_sampled() -> None:
    ids = [case[0] for case in BAD_INPUTS]
    assert len(ids) == len(set(ids))
    assert set(SUBPROCESS_SAMPLE) <= set(ids)


@pytest.mark.parametrize("spec", ["kube-controller-manager-csr-book.json",
                                  "kube-scheduler-csr-book.json", "nope.json", "leaf.json"])
def test_failed_gencert_piped_into_json_bare_writes_nothing(spec: str, workdir: Path) -> None:
    # leaf.json fails too: -ca-key is the wrong CA's key.
    before = snapshot(workdir)
    first, second = pipe_bare(["gencert", "-ca=ca.pem", "-ca-key=other-ca-key.pem",
                               "-config=ca-config.json", "-profile=kubernetes", spec],
                              "out", workdir)
    assert first.returncode == 1 and first.stdout == b"" and first.stderr.count(b"\n") == 1
    assert second.returncode == 1 and second.stdout == b""
    assert second.stderr.decode() == ("kpkilite: <stdin>: empty input, expected a JSON object "
                                      "(did the command before the pipe fail?)\n")
    assert snapshot(workdir) == before


def test_failed_json_bare_does_not_touch_existing_files(workdir: Path) -> None:
    ok("json", "-bare", "-f", "leaf-bundle.json", "out", cwd=workdir)
    before = snapshot(workdir)
    broken = json.loads((workdir / "leaf-bundle.json").read_text())
    broken["csr"] = "not a csr"  # the last part is bad: nothing may be written before it
    proc = kpki("json", "-bare", "out", cwd=workdir, stdin=json.dumps(broken).encode())
    assert proc.returncode == 1
    assert proc.stderr.decode() == ("kpkilite: <stdin>: csr: expected a CERTIFICATE REQUEST or "
                                    "NEW CERTIFICATE REQUEST PEM block, found no PEM block\n")
    assert snapshot(workdir) == before


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, shell=True, cwd=cwd, capture_output=True, env=_env(),
                          timeout=60)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", ["version", "--help", "gencert -h", "gencert -initca leaf.json",
                                  "print-defaults csr"])
def test_a_full_disk_on_stdout_is_one_line_not_a_traceback(args: str, workdir: Path) -> None:
    proc = _shell("%s -m kpkilite %s >/dev/full" % (sys.executable, args), workdir)
    assert proc.returncode == 1
    assert proc.stderr == b"kpkilite: cannot write to stdout (No space left on device)\n"


def test_a_closed_stdout_is_one_line_not_a_traceback(workdir: Path) -> None:
    proc = _shell("%s -m kpkilite version >&-" % sys.executable, workdir)
    assert (proc.returncode, proc.stderr) == (
        1, b"kpkilite: stdout is closed; there is nowhere to write the output\n")


def test_a_reader_that_goes_away_is_a_quiet_exit_1(workdir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kpkilite", "certinfo", "-cert", "ca.pem"],
                            cwd=workdir, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert (proc.wait(timeout=60), err) == (1, b"")


def test_a_closed_stderr_still_gives_the_exit_status(workdir: Path) -> None:
    proc = _shell("%s -m kpkilite gencert -initca nope.json 2>&-" % sys.executable, workdir)
    assert (proc.returncode, proc.stdout) == (1, b"")


# --- the flag parser: properties ----------------------------------------------------------

FLAG_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
ARG = st.one_of(FLAG_TEXT, st.builds(lambda p, t: p + t,
                                     st.sampled_from(["-", "--", "\u2013", "-ca", "--ca-key=",
                                                      "-initca=", "-profile", "-h"]), FLAG_TEXT))


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["gencert", "genkey", "sign", "json", "certinfo", "print-defaults"]),
       argv=st.lists(ARG, max_size=6))
def test_parse_flags_gives_a_result_or_a_usage_error(name: str, argv: List[str]) -> None:
    from kpkilite import cli

    command = cli.COMMANDS[name]
    try:
        opts, args = cli.parse_flags(command, argv)
    except cli.UsageError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(name + ": ")
        return
    except cli._HelpRequested:
        assert any(a.lstrip("-").split("=")[0] in ("h", "help") for a in argv)
        return
    assert set(opts) == {f.name for f in command.flags}
    assert command.min_args <= len(args) <= command.max_args
    assert all(a in argv for a in args)


VALUE = st.text(alphabet="abcxyz./_-:=,0123456789", min_size=1, max_size=10).filter(
    lambda v: not v.startswith("-"))


@settings(max_examples=100, deadline=None)
@given(ca=VALUE, key=VALUE, profile=VALUE, initca=st.booleans(),
       style=st.sampled_from(["-%s=%s", "--%s=%s", "-%s %s", "--%s %s"]))
def test_every_flag_spelling_parses_the_same(ca: str, key: str, profile: str, initca: bool,
                                             style: str) -> None:
    from kpkilite import cli

    argv: List[str] = []
    for flag, value in (("ca", ca), ("ca-key", key), ("profile", profile)):
        argv += (style % (flag, value)).split(" ", 1) if " " in style else [style % (flag, value)]
    argv += ["-initca=%s" % ("true" if initca else "false"), "spec.json"]
    opts, args = cli.parse_flags(cli.COMMANDS["gencert"], argv)
    assert (opts["ca"], opts["ca-key"], opts["profile"], opts["initca"]) == (
        ca, key, profile, initca)
    assert args == ["spec.json"]


def test_cfssls_loglevel_flag_is_accepted_and_ignored(tmp_path: Path) -> None:
    spec = tmp_path / "csr.json"
    spec.write_text('{"CN": "loglevel CA"}')
    proc = subprocess.run([sys.executable, "-m", "kpkilite", "gencert", "-loglevel=0",
                           "-initca", str(spec)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)) == ["cert", "csr", "key"]


def test_cron_says_when_a_schedule_never_fires() -> None:
    proc = subprocess.run([sys.executable, "-m", "kpkilite", "cron", "0 0 30 2 *", "--from",
                           "2026-01-01T00:00:00Z"], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr == ("kpkilite: cron: no fire time after 2026-01-01T00:00:00+00:00 (the "
                           "search stops 5 years ahead, as Kubernetes', and at year 9999)\n")


# --- closed streams, special files, races ----------------------------------------------------


@pytest.mark.parametrize("argv, what", [
    (["gencert", "-initca", "-"], "CSR spec"),
    (["json", "-bare", "x"], "JSON input"),
    (["certinfo", "-cert", "-"], "certificate"),
    (["sign", "-ca=ca.pem", "-ca-key=ca-key.pem", "-"], "CSR"),
])
def test_closed_stdin_is_one_line(argv: List[str], what: str, workdir: Path) -> None:
    before = snapshot(workdir)
    proc = subprocess.run([sys.executable, "-m", "kpkilite", *argv], cwd=str(workdir),
                          capture_output=True, stdin=subprocess.DEVNULL,
                          preexec_fn=lambda: os.close(0),
                          timeout=60, env=_env())
    assert proc.stderr.decode() == ("kpkilite: stdin is closed; there is no %s to read (give a "
                                    "FILE, or pipe it in)\n" % what)
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert snapshot(workdir) == before


def test_a_fifo_output_is_refused_without_reading_it(workdir: Path) -> None:
    """json -bare must lstat an existing output before reading it: a FIFO would block."""
    os.mkfifo(workdir / "ff-key.pem")
    before = snapshot(workdir)
    proc = kpki("json", "-bare", "-f", "other-ca-bundle.json", "ff", cwd=workdir)  # 60 s cap
    assert proc.stderr.decode() == ("kpkilite: ff-key.pem: is a FIFO (named pipe), not a "
                                    "regular file; refusing to replace it\n")
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert snapshot(workdir) == before


def test_a_fifo_input_is_read_like_cat(workdir: Path) -> None:
    """Process substitution (``-config <(...)``) hands over a FIFO: it must still work."""
    fifo = workdir / "config.fifo"
    os.mkfifo(fifo)
    config = (workdir / "ec-config.json").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "kpkilite", "gencert", "-ca=ca.pem",
                             "-ca-key=ca-key.pem", "-config", str(fifo), "leaf.json"],
                            cwd=str(workdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env())
    with open(fifo, "wb") as fh:
        fh.write(config)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, b"")
    assert set(json.loads(out)) == {"cert", "key", "csr"}


@pytest.mark.parametrize("argv,message", [
    (["pyz", "-o", ""], "kpkilite: pyz: -o is empty (an unset shell variable?); give FILE\n"),
    (["cron", "* * * * *", "--from", ""],
     "kpkilite: cron: -from is empty (an unset shell variable?); give ISO\n"),
    (["json", "-bare", "-f=", "x"],
     "kpkilite: json: -f is empty (an unset shell variable?); give FILE\n"),
    (["certinfo", "-cert", ""],
     "kpkilite: certinfo: -cert is empty (an unset shell variable?); give FILE\n"),
])
def test_an_empty_file_or_time_flag_is_a_usage_error(argv: List[str], message: str,
                                                    tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kpkilite", *argv], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", message)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_file_argument_is_named_as_such(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kpkilite", "gencert", "-initca", ""],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == "kpkilite: an empty file name (an unset shell variable?)\n"
