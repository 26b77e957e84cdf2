"""CSR specs (parse_csr_spec) and cfssl genkey (generate_csr), checked with ``cryptography``.

Every error table asserts the exact message: messages are part of the interface.
"""

from __future__ import annotations

import unicodedata
import warnings
from typing import Any, Dict, List, Optional, Tuple

import pytest
from conftest import der_children, der_read, seed
from cryptography import x509 as cx509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpkilite import csr
from kpkilite.csr import CAOptions, parse_csr_spec
from kpkilite.errors import CSRSpecError, KpkiliteWarning

HOUR_NS = 3600 * 10**9


def parse_quietly(spec: Any) -> Tuple[csr.CSRSpec, List[str]]:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        parsed = parse_csr_spec(spec)
    assert all(issubclass(w.category, KpkiliteWarning) for w in got)
    return parsed, [str(w.message) for w in got]


# --- what parses, and to what ------------------------------------------------------------

GOOD = [
    # spec, expected (CN, hosts, algo, size, names, ca)
    ({"CN": "admin"}, ("admin", (), "ecdsa", 256, (), None)),
    ({"cn": "a", "HOSTS": ["x.example"], "Key": {"ALGO": "RSA", "Size": 3072}},
     ("a", ("x.example",), "rsa", 3072, (), None)),
    ({"CN": "a", "key": {"algo": "rsa"}}, ("a", (), "rsa", 2048, (), None)),
    ({"CN": "a", "key": {"algo": "rsa", "size": 0}}, ("a", (), "rsa", 2048, (), None)),
    ({"CN": "a", "key": {"algo": "ecdsa", "size": 521}}, ("a", (), "ecdsa", 521, (), None)),
    ({"CN": "a", "key": {"size": 384}}, ("a", (), "ecdsa", 384, (), None)),
    ({"CN": "a", "key": {"algo": "rsa", "size": 4096.0}}, ("a", (), "rsa", 4096, (), None)),
    ({"CN": "a", "hosts": None, "names": None, "key": None, "ca": None},
     ("a", (), "ecdsa", 256, (), None)),
    ({"CN": "a", "names": [{"OU": "u", "c": "CN"}, {"O": "o1"}, {"o": "o2", "L": ""}]},
     ("a", (), "ecdsa", 256, (("C", ("CN",)), ("O", ("o1", "o2")), ("OU", ("u",))), None)),
    ({"hosts": ["10.0.0.1"]}, ("", ("10.0.0.1",), "ecdsa", 256, (), None)),
    ({"CN": "ca", "ca": {"expiry": "87600h"}},
     ("ca", (), "ecdsa", 256, (), CAOptions(87600 * HOUR_NS, None, None))),
    ({"CN": "ca", "ca": {"expiry": "", "pathlen": 0, "pathlenzero": True, "backdate": "1h"}},
     ("ca", (), "ecdsa", 256, (), CAOptions(None, 0, HOUR_NS))),
    ({"CN": "ca", "ca": {"pathlen": 3}}, ("ca", (), "ecdsa", 256, (), CAOptions(None, 3, None))),
    ({"CN": "ca", "ca": {"pathlen": 0}},  # cfssl: 0 without pathlenzero means no limit
     ("ca", (), "ecdsa", 256, (), CAOptions(None, None, None))),
]


@pytest.mark.parametrize(("spec", "want"), GOOD)
def test_parse_good_specs(spec: Dict[str, Any], want: Tuple[Any, ...]) -> None:
    parsed, got = parse_quietly(spec)
    assert got == []
    assert (parsed.CN, parsed.hosts, parsed.key_algo, parsed.key_size, parsed.names,
            parsed.ca) == want


@pytest.mark.parametrize("name", ["admin-csr.json", "ca-csr.json", "kubernetes-csr.json",
                                  "kube-proxy-csr.json", "kube-scheduler-csr.json",
                                  "kube-controller-manager-csr.json"])
def test_chapter_specs_parse_without_warnings(name: str) -> None:
    spec = seed(name)
    parsed, got = parse_quietly(spec)
    assert got == []
    assert (parsed.key_algo, parsed.key_size) == ("rsa", 2048)
    assert parsed.hosts == tuple(spec.get("hosts", ()))
    assert [k for k, _ in parsed.names] == ["C", "ST", "L", "O", "OU"]


WARNINGS = [
    # spec, the warnings (exact); the spec still parses
    ({"CN": "x", "host": ["a.example"]}, ["unknown key 'host' is ignored; did you mean 'hosts'?"]),
    ({"CN": "x", "keys": {"algo": "rsa"}}, ["unknown key 'keys' is ignored; did you mean 'key'?"]),
    ({"CN": "x", "name": []}, ["unknown key 'name' is ignored; did you mean 'names'?"]),
    ({"CN": "x", "key": {"algo": "rsa", "sise": 4096}},
     ["key: unknown key 'sise' is ignored; did you mean 'size'?"]),
    ({"CN": "x", "names": [{"C": "CN", "CN": "y"}]},
     ["names[0]: unknown key 'CN' is ignored; did you mean 'C'?"]),
    ({"CN": "x", "names": [{"Country": "DE"}]}, ["names[0]: unknown key 'Country' is ignored"]),
    ({"CN": "x", "ca": {"expiry": "1h", "path_len": 1}},
     ["ca: unknown key 'path_len' is ignored; did you mean 'pathlen'?"]),
    ({"CN": "x", "serialnumber": "7"}, ["'serialnumber' is not supported by kpkilite and is "
                                         "ignored"]),
    ({"CN": "x", "hosts": [], "zzz": 1}, ["unknown key 'zzz' is ignored"]),
]


@pytest.mark.parametrize(("spec", "want"), WARNINGS)
def test_unknown_keys_warn_with_the_closest(spec: Dict[str, Any], want: List[str]) -> None:
    _, got = parse_quietly(spec)
    assert got == want


# --- errors ----------------------------------------------------------------------------

ERRORS = [
    ({}, "CN: the certificate would have an empty subject and no hosts; set CN"),
    ({"CN": 1}, "CN: expected a string, got a number"),
    ({"CN": "x" * 65}, "CN: 65 characters; a common name can have at most 64"),
    ({"CN": "a\nb"}, "CN: control character '\\n' is not allowed"),
    ({"CN": "x", "cn": "y"},
     "CN: 'CN' and 'cn' are the same field (keys are case-insensitive); keep one"),
    # hosts
    ({"CN": "x", "hosts": [""]},
     'hosts[0]: \'\': empty host; remove it ("hosts": [] means no SANs)'),
    ({"CN": "x", "hosts": ["a.example", ""]},
     'hosts[1]: \'\': empty host; remove it ("hosts": [] means no SANs)'),
    ({"CN": "x", "hosts": "a.example, b.example"},
     'hosts: expected a list of strings, got a string; write ["a.example", "b.example"]'),
    ({"CN": "x", "hosts": [None]}, "hosts[0]: expected a string, got null"),
    ({"CN": "x", "hosts": ["bücher.example"]},
     "hosts[0]: 'bücher.example': non-ASCII host name; write it in its ASCII form "
     "'xn--bcher-kva.example'"),
    ({"CN": "x", "hosts": ["Kubernetes-máster1"]},
     "hosts[0]: 'Kubernetes-máster1': non-ASCII host name; write it in its ASCII form "
     "'xn--kubernetes-mster1-ipb'"),
    ({"CN": "x", "hosts": ["ex\u00e4mple..com"]},
     "hosts[0]: 'exämple..com': non-ASCII host name; write it in its ASCII (xn--) form"),
    ({"CN": "x", "hosts": ["a.*.example.com"]},
     "hosts[0]: 'a.*.example.com': a wildcard must be the whole left-most label, as in "
     "*.example.com"),
    ({"CN": "x", "hosts": ["f*.example.com"]},
     "hosts[0]: 'f*.example.com': a wildcard must be the whole left-most label, as in "
     "*.example.com"),
    ({"CN": "x", "hosts": ["*"]},
     "hosts[0]: '*': a wildcard must be the whole left-most label, as in *.example.com"),
    ({"CN": "x", "hosts": ["a..example"]},
     "hosts[0]: 'a..example': host name has an empty label (a leading, trailing or double dot)"),
    ({"CN": "x", "hosts": ["a.example."]},
     "hosts[0]: 'a.example.': host name has an empty label (a leading, trailing or double dot)"),
    ({"CN": "x", "hosts": ["a b.example"]}, "hosts[0]: 'a b.example': ' ' is not allowed in a "
                                            "host name"),
    ({"CN": "x", "hosts": [" a.example"]},
     "hosts[0]: ' a.example': host has leading or trailing white space"),
    ({"CN": "x", "hosts": ["a" * 64 + ".example"]},
     "hosts[0]: '%s.example': host name label '%s' is longer than 63 characters"
     % ("a" * 64, "a" * 64)),
    ({"CN": "x", "hosts": ["010.0.0.1"]},
     "hosts[0]: '010.0.0.1': not an IP address, and a host name's last label cannot be all "
     "digits (an IPv4 address has four numbers 0-255 without leading zeros)"),
    ({"CN": "x", "hosts": ["192.168.1.256"]},
     "hosts[0]: '192.168.1.256': not an IP address, and a host name's last label cannot be all "
     "digits (an IPv4 address has four numbers 0-255 without leading zeros)"),
    ({"CN": "x", "hosts": ["-etcd.example"]},
     "hosts[0]: '-etcd.example': host name label '-etcd' starts or ends with '-'"),
    ({"CN": "x", "hosts": ["etcd-.example"]},
     "hosts[0]: 'etcd-.example': host name label 'etcd-' starts or ends with '-'"),
    ({"CN": "x", "hosts": ["fe80::1%eth0"]},
     "hosts[0]: 'fe80::1%eth0': an IPv6 zone (%eth0) cannot go in a certificate"),
    ({"CN": "x", "hosts": ["://x"]}, "hosts[0]: '://x': URI has no valid scheme"),
    ({"CN": "x", "hosts": ["https://exa mple"]},
     "hosts[0]: 'https://exa mple': URI contains a character that must be percent-encoded"),
    ({"CN": "x", "hosts": ["ops@*.example.com"]},
     "hosts[0]: 'ops@*.example.com': an e-mail address cannot have a wildcard domain"),
    ({"CN": "x", "hosts": ["a b@example.com"]},
     "hosts[0]: 'a b@example.com': e-mail address must look like name@example.com"),
    ({"CN": "x", "hosts": ["Ops <ops@example.com>"]},
     "hosts[0]: 'Ops <ops@example.com>': e-mail address must look like name@example.com"),
    ({"CN": "x", "hosts": ["@example.com"]},
     "hosts[0]: '@example.com': e-mail address must look like name@example.com"),
    ({"CN": "x", "hosts": ["jörg@example.com"]},
     "hosts[0]: 'jörg@example.com': non-ASCII e-mail address; it cannot go in an rfc822Name"),
    # names
    ({"CN": "x", "names": {"C": "DE"}}, "names: expected a list of objects, got an object"),
    ({"CN": "x", "names": [{"C": "USA"}]},
     "names[0].C: expected a 2-letter country code, got 'USA'"),
    ({"CN": "x", "names": [{"O": "o"}, {"C": "1A"}]},
     "names[1].C: expected a 2-letter country code, got '1A'"),
    ({"CN": "x", "names": [{"C": "DÉ"}]}, "names[0].C: expected a 2-letter country code, "
                                          "got 'DÉ'"),
    ({"CN": "x", "names": [{"O": "x" * 65}]}, "names[0].O: 65 characters; at most 64 are "
                                              "allowed"),
    ({"CN": "x", "names": ["C=DE"]}, "names[0]: expected a JSON object, got a string"),
    # key
    ({"CN": "x", "key": {"algo": "rsa", "size": 8192}},
     "key.size: 8192 is not supported for rsa keys; supported sizes: 2048, 3072, 4096"),
    ({"CN": "x", "key": {"algo": "rsa", "size": 1024}},
     "key.size: 1024 is not supported for rsa keys; supported sizes: 2048, 3072, 4096"),
    ({"CN": "x", "key": {"algo": "ecdsa", "size": 224}},
     "key.size: 224 is not supported for ecdsa keys; supported sizes: 256, 384, 521"),
    ({"CN": "x", "key": {"size": 2048}},
     "key.size: 2048 is not supported for ecdsa keys; supported sizes: 256, 384, 521 "
     '(key.algo is missing, so ecdsa; write "algo": "rsa" for an RSA key)'),
    ({"CN": "x", "key": {"algo": "ed25519"}},
     'key.algo: \'ed25519\' is not supported; use "rsa" or "ecdsa"'),
    ({"CN": "x", "key": {"algo": "rsa", "size": "2048"}},
     "key.size: expected an integer, got a string '2048'"),
    ({"CN": "x", "key": {"algo": "rsa", "size": True}},
     "key.size: expected an integer, got a boolean true"),
    ({"CN": "x", "key": "rsa"}, "key: expected a JSON object, got a string"),
    # ca
    ({"CN": "x", "ca": {"expiry": "10y"}},
     "ca.expiry: unknown unit 'y' in duration '10y' (Go durations have no 'y' unit; use hours, "
     "e.g. 87600h for 10 years)"),
    ({"CN": "x", "ca": {"expiry": "3650d"}},
     "ca.expiry: unknown unit 'd' in duration '3650d' (Go durations have no 'd' unit; use "
     "hours, e.g. 87600h for 10 years)"),
    ({"CN": "x", "ca": {"expiry": "0h"}}, "ca.expiry: '0h' must be a positive duration"),
    ({"CN": "x", "ca": {"expiry": "-87600h"}}, "ca.expiry: '-87600h' must be a positive duration"),
    ({"CN": "x", "ca": {"expiry": 87600}},
     'ca.expiry: expected a Go duration string such as "8760h", got a number 87600'),
    ({"CN": "x", "ca": {"pathlen": -1}},
     'ca.pathlen: -1 is negative; use 0 with "pathlenzero": true, or leave it out for no limit'),
    ({"CN": "x", "ca": {"pathlen": 2, "pathlenzero": True}},
     "ca.pathlenzero: true contradicts ca.pathlen 2; keep one"),
    ({"CN": "x", "ca": {"pathlenzero": "yes"}},
     "ca.pathlenzero: expected true or false, got a string 'yes'"),
]


@pytest.mark.parametrize(("spec", "message"), ERRORS)
def test_spec_errors(spec: Dict[str, Any], message: str) -> None:
    with pytest.raises(CSRSpecError) as info:
        parse_quietly(spec)
    assert str(info.value) == message
    # generate_csr validates first: same error, no key made
    with pytest.raises(CSRSpecError) as info:
        csr.generate_csr(spec)
    assert str(info.value) == message


@pytest.mark.parametrize("spec", [[], "CN", None, 1])
def test_spec_of_the_wrong_python_type(spec: Any) -> None:
    with pytest.raises(TypeError):
        parse_csr_spec(spec)


# --- generate_csr, read back with cryptography -------------------------------------------

GENKEY = [
    # spec, key class, size, expected CSR signature AlgorithmIdentifier DER
    ({"CN": "a", "key": {"algo": "rsa", "size": 2048}}, rsa.RSAPrivateKey, 2048,
     "300d06092a864886f70d01010b0500", "RSA PRIVATE KEY"),
    ({"CN": "a"}, ec.EllipticCurvePrivateKey, 256, "300a06082a8648ce3d040302", "EC PRIVATE KEY"),
    ({"CN": "a", "key": {"algo": "ecdsa", "size": 384}}, ec.EllipticCurvePrivateKey, 384,
     "300a06082a8648ce3d040303", "EC PRIVATE KEY"),
    ({"CN": "a", "key": {"algo": "ecdsa", "size": 521}}, ec.EllipticCurvePrivateKey, 521,
     "300a06082a8648ce3d040304", "EC PRIVATE KEY"),
]


@pytest.mark.parametrize(("spec", "cls", "size", "alg_hex", "label"), GENKEY)
def test_generate_csr_key_and_signature(spec: Dict[str, Any], cls: Any, size: int,
                                        alg_hex: str, label: str) -> None:
    out = csr.generate_csr(spec)
    assert sorted(out) == ["csr", "key"]
    assert out["key"].startswith("-----BEGIN %s-----\n" % label)
    assert out["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----\n")
    key = load_pem_private_key(out["key"].encode(), password=None)
    assert isinstance(key, cls) and key.key_size == size
    request = cx509.load_pem_x509_csr(out["csr"].encode())
    assert request.is_signature_valid
    spki = PublicFormat.SubjectPublicKeyInfo
    assert request.public_key().public_bytes(Encoding.DER, spki) == \
        key.public_key().public_bytes(Encoding.DER, spki)
    _, body, _ = der_read(request.public_bytes(Encoding.DER))
    info, alg, _sig = der_children(body)
    assert alg[2] == bytes.fromhex(alg_hex)
    version = der_children(info[1])[0]
    assert version[2] == b"\x02\x01\x00"  # v1
    if isinstance(key, ec.EllipticCurvePrivateKey):
        # SEC1 with the named curve and the public key, as Go's MarshalECPrivateKey
        import base64

        der = base64.b64decode("".join(out["key"].strip().splitlines()[1:-1]))
        _, sec1, _ = der_read(der)
        parts = der_children(sec1)
        assert [p[0] for p in parts] == [0x02, 0x04, 0xA0, 0xA1]
        assert len(parts[1][1]) == (size + 7) // 8


def test_generate_csr_subject_and_requested_extensions() -> None:
    spec = seed("kubernetes-csr.json")
    spec["key"] = {"algo": "ecdsa", "size": 256}
    request = cx509.load_pem_x509_csr(csr.generate_csr(spec)["csr"].encode())
    attrs = [list(r)[0] for r in request.subject.rdns]
    assert [(a.oid, a.value) for a in attrs] == [
        (NameOID.COUNTRY_NAME, "CN"), (NameOID.STATE_OR_PROVINCE_NAME, "BeiJing"),
        (NameOID.LOCALITY_NAME, "BeiJing"), (NameOID.ORGANIZATION_NAME, "Kubernetes"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "System"), (NameOID.COMMON_NAME, "kubernetes")]
    assert {a._type for a in attrs} == {_ASN1Type.PrintableString}
    san = request.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert not san.critical
    assert san.value.get_values_for_type(cx509.DNSName) == [
        h for h in spec["hosts"] if not h[0].isdigit()]
    assert [str(i) for i in san.value.get_values_for_type(cx509.IPAddress)] == [
        h for h in spec["hosts"] if h[0].isdigit()]
    with pytest.raises(cx509.ExtensionNotFound):
        request.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)


@pytest.mark.parametrize(("ca", "pathlen"), [({"expiry": "1h"}, None), ({"pathlen": 1}, 1),
                                             ({"pathlenzero": True}, 0)])
def test_generate_csr_with_ca_block_requests_ca(ca: Dict[str, Any],
                                                pathlen: Optional[int]) -> None:
    request = cx509.load_pem_x509_csr(csr.generate_csr({"CN": "sub", "ca": ca})["csr"].encode())
    bc = request.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca and bc.value.path_length == pathlen


def test_generate_csr_empty_subject_makes_san_critical() -> None:
    request = cx509.load_pem_x509_csr(csr.generate_csr({"hosts": ["n.example"]})["csr"].encode())
    assert list(request.subject) == []
    san = request.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert san.critical


def test_generate_csr_makes_a_new_key_each_time() -> None:
    a, b = csr.generate_csr({"CN": "a"}), csr.generate_csr({"CN": "a"})
    assert a["key"] != b["key"]


# --- property: random documents give a spec or a typed error -----------------------------

_KEYS = ["CN", "cn", "hosts", "Hosts", "key", "names", "ca", "algo", "size", "C", "ST", "L", "O",
         "OU", "expiry", "pathlen", "pathlenzero", "backdate", "host", "serialnumber"]
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**5) | st.floats(allow_nan=False)
    | st.sampled_from(["rsa", "ecdsa", "RSA", "", "*", "*.a.b", "a..b", "1.2.3.4", "::1",
                       "fe80::1%1", "a@b.c", "a@", "x://y", "https://a/b", "87600h", "1y",
                       "-1h", "DE", "USA", "bücher.de", "etcd01"])
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=4), children, max_size=5),
    max_leaves=15,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(_json, st.dictionaries(st.sampled_from(_KEYS), _json, max_size=6)))
def test_parse_csr_spec_gives_a_spec_or_a_typed_error(doc: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KpkiliteWarning)
        try:
            parsed = parse_csr_spec(doc)
        except (CSRSpecError, TypeError):
            return
    assert parsed.key_size in csr.KEY_SIZES[parsed.key_algo]
    assert parsed.CN or parsed.names or parsed.hosts
    assert all(isinstance(h, str) and h for h in parsed.hosts)


# --- unpaired surrogates and path lengths ------------------------------------------------


@pytest.mark.parametrize("spec, message", [
    ({"CN": "\ud800"}, "CN: contains an unpaired surrogate (U+D800) at character 1"),
    ({"CN": "x", "names": [{"O": "ok"}, {"O": "ab\udc00"}]},
     "names[1].O: contains an unpaired surrogate (U+DC00) at character 3"),
    ({"CN": "x", "hosts": ["a.example", "b\udfff.example"]},
     "hosts[1]: contains an unpaired surrogate (U+DFFF) at character 2"),
    ({"CN": "x", "ca": {"pathlen": 2**64}},
     "ca.pathlen: a 20-digit number is too large; at most 2147483647 (Go reads a path length "
     "as a 32-bit int, and no chain is that deep)"),
    ({"CN": "x", "ca": {"pathlen": 1e300}},
     "ca.pathlen: a 301-digit number is too large; at most 2147483647 (Go reads a path length "
     "as a 32-bit int, and no chain is that deep)"),
    ({"CN": "x", "ca": {"pathlen": 2**31}},
     "ca.pathlen: 2147483648 is too large; at most 2147483647 (Go reads a path length as a "
     "32-bit int, and no chain is that deep)"),
    ({"CN": "x", "ca": {"pathlen": -(10**5000)}},
     "ca.pathlen: a 5001-digit number is negative; use 0 with \"pathlenzero\": true, or leave "
     "it out for no limit"),
    ({"CN": "x", "key": {"algo": "rsa", "size": 10**5000}},
     "key.size: a 5001-digit number is not supported for rsa keys; supported sizes: 2048, "
     "3072, 4096"),
])
def test_text_that_cannot_be_utf8_and_numbers_too_large(spec: Dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(CSRSpecError) as info:
        parse_csr_spec(spec)
    assert str(info.value) == message


def test_the_largest_path_length_is_accepted() -> None:
    assert parse_csr_spec({"CN": "x", "ca": {"pathlen": 2**31 - 1}}).ca == CAOptions(
        None, 2**31 - 1, None)


@pytest.mark.parametrize("host, ace", [
    ("\u00df.de", "xn--zca.de"),  # IDNA2008 keeps sharp s (IDNA2003 mapped it to "ss")
    ("b\u00fccher.de", "xn--bcher-kva.de"),
    ("B\u00dcCHER.de", "xn--bcher-kva.de"),  # lower-cased
    ("bu\u0308cher.de", "xn--bcher-kva.de"),  # NFC: u + combining diaeresis
    ("\u65e5\u672c.jp", "xn--wgv71a.jp"),
])
def test_non_ascii_host_hint_is_the_idna2008_a_label(host: str, ace: str) -> None:
    with pytest.raises(CSRSpecError) as info:
        parse_csr_spec({"CN": "x", "hosts": [host]})
    assert str(info.value) == ("hosts[0]: %r: non-ASCII host name; write it in its ASCII form "
                               "%r" % (host, ace))
    back = [label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label
            for label in ace.split(".")]
    assert ".".join(back) == unicodedata.normalize("NFC", host).lower()
