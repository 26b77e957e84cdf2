"""kpkilite._crypto: keys, signatures and their errors, checked against independent oracles.

Oracles: the ``cryptography`` package (loads our PEM byte for byte as it would
write it, verifies our signatures, signs for our verifier) and the ``openssl``
CLI (makes keys in every format we accept). RSA-8192 is a fixed key below:
generating one takes seconds to minutes.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Union

import pytest
from asn1crypto import keys, pem
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from kpkilite import _crypto
from kpkilite.errors import PEMError

REFERENCE = Path("/work/shared/reference/cfssl-output")
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
CryptoKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]
PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER
PKCS8 = serialization.PrivateFormat.PKCS8
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL
NO_PASSWORD = serialization.NoEncryption()


def as_cryptography(key_pem: str | bytes) -> CryptoKey:
    data = key_pem.encode() if isinstance(key_pem, str) else key_pem
    # cryptography checks RSA keys (primality of p and q): about 4 s for RSA-8192,
    # so only keys up to 4096 bits are checked here
    skip = len(data) > 4000
    if data.lstrip().startswith(b"-----"):
        key = serialization.load_pem_private_key(data, None, unsafe_skip_rsa_key_validation=skip)
    else:
        key = serialization.load_der_private_key(data, None, unsafe_skip_rsa_key_validation=skip)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
    return key


def spki(key: CryptoKey) -> bytes:
    return key.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def traditional_pem(key: CryptoKey) -> str:
    return key.private_bytes(PEM, TRADITIONAL, NO_PASSWORD).decode()


def cryptography_verify(key: CryptoKey, signature: bytes, data: bytes, hash_name: str) -> None:
    if isinstance(key, rsa.RSAPrivateKey):
        key.public_key().verify(signature, data, padding.PKCS1v15(), HASHES[hash_name]())
    else:
        key.public_key().verify(signature, data, ec.ECDSA(HASHES[hash_name]()))


def cryptography_sign(key: CryptoKey, data: bytes, hash_name: str) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), HASHES[hash_name]())
    return key.sign(data, ec.ECDSA(HASHES[hash_name]()))


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


# --- generation --------------------------------------------------------------

GENERATE = [
    # algorithm, size, curve, PEM label
    ("rsa", 2048, None, "RSA PRIVATE KEY"),
    ("rsa", 3072, None, "RSA PRIVATE KEY"),
    ("rsa", 4096, None, "RSA PRIVATE KEY"),
    ("ecdsa", 256, "secp256r1", "EC PRIVATE KEY"),
    ("ecdsa", 384, "secp384r1", "EC PRIVATE KEY"),
    ("ecdsa", 521, "secp521r1", "EC PRIVATE KEY"),
]


@pytest.fixture(scope="module")
def generated() -> dict[tuple[str, int], _crypto.PrivateKey]:
    return {(alg, size): _crypto.generate_private_key(alg, size) for alg, size, _, _ in GENERATE}


@pytest.mark.parametrize(("algorithm", "size", "curve", "label"), GENERATE)
def test_generated_key_as_cfssl_writes_it(
    generated: dict[tuple[str, int], _crypto.PrivateKey],
    algorithm: str,
    size: int,
    curve: str | None,
    label: str,
) -> None:
    key = generated[algorithm, size]
    assert (key.algorithm, key.bit_size, key.curve) == (algorithm, size, curve)
    text = key.to_pem()
    assert text.startswith(f"-----BEGIN {label}-----\n")
    assert text.endswith(f"-----END {label}-----\n")
    assert all(len(line) <= 64 for line in text.splitlines())
    oracle = as_cryptography(text)
    # cryptography (OpenSSL's encoder) writes exactly the same PKCS#1 / SEC1 bytes
    assert traditional_pem(oracle) == text
    assert spki(oracle) == key.public_key_info.dump()
    if algorithm == "rsa":
        assert isinstance(oracle, rsa.RSAPrivateKey) and oracle.key_size == size
        assert oracle.private_numbers().public_numbers.e == 65537
    else:
        assert isinstance(oracle, ec.EllipticCurvePrivateKey) and oracle.curve.name == curve


@pytest.mark.parametrize("algorithm", ["ecdsa"])
@pytest.mark.parametrize("size", [256, 384, 521])
def test_sec1_has_named_curve_and_public_key(
    generated: dict[tuple[str, int], _crypto.PrivateKey], algorithm: str, size: int
) -> None:
    key = generated[algorithm, size]
    label, _, der = pem.unarmor(key.to_pem().encode())
    sec1 = keys.ECPrivateKey.load(der)
    assert label == "EC PRIVATE KEY"
    assert sec1["version"].native == "ecPrivkeyVer1"
    assert sec1["parameters"].chosen.native == key.curve
    assert sec1["public_key"].native == key.public_key_info["public_key"].native
    assert len(sec1["private_key"].contents) == (size + 7) // 8


@pytest.mark.parametrize(("algorithm", "size", "curve", "label"), GENERATE)
@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512"])
def test_generated_key_signs_for_cryptography(
    generated: dict[tuple[str, int], _crypto.PrivateKey],
    algorithm: str,
    size: int,
    curve: str | None,
    label: str,
    hash_name: str,
) -> None:
    key = generated[algorithm, size]
    data = f"to be signed with {algorithm}-{size}/{hash_name}".encode()
    signature = key.sign(data, hash_name)
    cryptography_verify(as_cryptography(key.to_pem()), signature, data, hash_name)
    assert _crypto.verify_signature(key.public_key_info, signature, data, hash_name) is True
    assert _crypto.verify_signature(key.public_key_info, signature, data + b".", hash_name) is False
    if algorithm == "rsa":  # PKCS#1 v1.5 is deterministic; ECDSA is not
        assert signature == key.sign(data, hash_name)
        assert len(signature) == size // 8


def test_generated_keys_differ() -> None:
    a, b = (_crypto.generate_private_key("ecdsa", 256) for _ in range(2))
    assert a.public_key_info.dump() != b.public_key_info.dump()


GENERATE_BAD = [
    ("rsa", 1024),
    ("rsa", 8192),
    ("rsa", 2047),
    ("RSA", 2048),
    ("ecdsa", 224),
    ("ecdsa", 2048),
    ("ec", 256),
    ("ed25519", 256),
]


@pytest.mark.parametrize(("algorithm", "size"), GENERATE_BAD)
def test_generate_rejects_other_sizes(algorithm: str, size: int) -> None:
    with pytest.raises(ValueError) as info:
        _crypto.generate_private_key(algorithm, size)
    assert str(info.value) == (
        f"cannot generate a {algorithm!r} key of size {size!r}: "
        "expected rsa 2048/3072/4096 or ecdsa 256/384/521"
    )


def test_key_generation_in_threads() -> None:
    # libcrypto runs with the GIL released (timing is measured in the report, not here)
    results: list[_crypto.PrivateKey] = []
    lock = threading.Lock()

    def work() -> None:
        key = _crypto.generate_private_key("rsa", 2048)
        with lock:
            results.append(key)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({key.public_key_info.dump() for key in results}) == 4
    for key in results:
        cryptography_verify(as_cryptography(key.to_pem()), key.sign(b"x", "sha256"), b"x", "sha256")


def test_repr_does_not_show_the_key(generated: dict[tuple[str, int], _crypto.PrivateKey]) -> None:
    assert repr(generated["rsa", 2048]) == "<PrivateKey rsa 2048>"
    assert repr(generated["ecdsa", 384]) == "<PrivateKey ecdsa 384>"


@pytest.mark.parametrize("hash_name", ["sha1", "md5", "SHA256", "sha224", ""])
def test_sign_rejects_other_hashes(
    generated: dict[tuple[str, int], _crypto.PrivateKey], hash_name: str
) -> None:
    with pytest.raises(ValueError) as info:
        generated["ecdsa", 256].sign(b"x", hash_name)
    assert str(info.value) == f"hash_name must be one of sha256, sha384, sha512, not {hash_name!r}"


def test_sign_needs_bytes(generated: dict[tuple[str, int], _crypto.PrivateKey]) -> None:
    with pytest.raises(TypeError) as info:
        generated["ecdsa", 256].sign("text", "sha256")  # type: ignore[arg-type]
    assert str(info.value) == "data must be bytes, not str"


# --- loading -----------------------------------------------------------------


#: openssl commands run in a fresh directory: keys in the formats openssl writes
OPENSSL_KEYS = [
    "genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-p8.pem",
    "pkey -in rsa-p8.pem -traditional -out rsa-p1.pem",
    "pkey -in rsa-p8.pem -outform DER -out rsa-p8.der",
    "rsa -in rsa-p8.pem -traditional -outform DER -out rsa-p1.der",
    "ecparam -name prime256v1 -genkey -out ec256-params.pem",
    "ec -in ec256-params.pem -no_public -out ec256-nopub.pem",
    "ecparam -name secp384r1 -genkey -noout -out ec384.pem",
    "ec -in ec384.pem -outform DER -out ec384.der",
    "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ec521-p8.pem",
    "pkey -in ec521-p8.pem -outform DER -out ec521-p8.der",
    "ecparam -name prime256v1 -param_enc explicit -genkey -noout -out ec-explicit.pem",
    "ecparam -name secp256k1 -genkey -noout -out ec-k1.pem",
    "pkcs8 -topk8 -v2 aes256 -in ec384.pem -passout pass:secret -out enc-p8.pem",
    "pkcs8 -topk8 -v2 aes256 -in ec384.pem -passout pass:secret -outform DER -out enc-p8.der",
    "ec -in ec384.pem -aes256 -passout pass:secret -out enc-sec1.pem",
    "genpkey -algorithm ED25519 -out ed25519.pem",
    "pkey -in ed25519.pem -pubout -out ed25519-pub.pem",
]


def strip_sec1(der: bytes, *, parameters: bool, public_key: bool) -> bytes:
    sec1 = keys.ECPrivateKey.load(der).copy()
    if not parameters:
        del sec1["parameters"]
    if not public_key:
        del sec1["public_key"]
    out: bytes = sec1.dump(force=True)
    return out


def compress_point(sec1_der: bytes, *, wrong_parity: bool = False) -> bytes:
    sec1 = keys.ECPrivateKey.load(sec1_der).copy()
    point = sec1["public_key"].native
    half = (len(point) - 1) // 2
    prefix = 2 + ((point[-1] & 1) ^ wrong_parity)
    sec1["public_key"] = bytes([prefix]) + point[1 : 1 + half]
    out: bytes = sec1.dump(force=True)
    return out


def armor(label: str, der: bytes) -> bytes:
    out: bytes = pem.armor(label, der)
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, rsa8192_key: Any) -> dict[str, bytes]:
    """Keys in every accepted (and some refused) format, made by openssl and cryptography."""
    d = tmp_path_factory.mktemp("keys")
    for command in OPENSSL_KEYS:
        subprocess.run(["openssl", *command.split()], cwd=d, check=True, capture_output=True)
    files = {path.name: path.read_bytes() for path in d.iterdir()}

    rsa8192 = rsa8192_key
    rsa2056 = rsa.generate_private_key(65537, 2056)  # an odd size, fast to make
    rsa1024 = rsa.generate_private_key(65537, 1024)
    files["rsa8192-p1.pem"] = rsa8192.private_bytes(PEM, TRADITIONAL, NO_PASSWORD)
    files["rsa8192-p8.der"] = rsa8192.private_bytes(DER, PKCS8, NO_PASSWORD)
    files["rsa2056-p8.pem"] = rsa2056.private_bytes(PEM, PKCS8, NO_PASSWORD)
    files["rsa1024-p1.pem"] = rsa1024.private_bytes(PEM, TRADITIONAL, NO_PASSWORD)
    files["rsa1024-p8.der"] = rsa1024.private_bytes(DER, PKCS8, NO_PASSWORD)

    ec384 = files["ec384.der"]
    files["ec384-noparams.pem"] = armor(
        "EC PRIVATE KEY", strip_sec1(ec384, parameters=False, public_key=True)
    )
    files["ec384-bare.pem"] = armor(
        "EC PRIVATE KEY", strip_sec1(ec384, parameters=False, public_key=False)
    )
    files["ec384-bare.der"] = strip_sec1(ec384, parameters=False, public_key=False)
    params384 = keys.ECDomainParameters(name="named", value="secp384r1").dump()
    files["ec384-paramsblock.pem"] = armor("EC PARAMETERS", params384) + files["ec384-bare.pem"]
    files["ec384-compressed.pem"] = armor("EC PRIVATE KEY", compress_point(ec384))
    files["ec384-compressed-wrong.pem"] = armor(
        "EC PRIVATE KEY", compress_point(ec384, wrong_parity=True)
    )
    other384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(DER, TRADITIONAL, NO_PASSWORD)
    mixed = keys.ECPrivateKey.load(ec384).copy()
    mixed["public_key"] = keys.ECPrivateKey.load(other384)["public_key"].native
    files["ec384-otherpoint.pem"] = armor("EC PRIVATE KEY", mixed.dump(force=True))
    files["ec256-k1-p8.der"] = ec.generate_private_key(ec.SECP256K1()).private_bytes(
        DER, PKCS8, NO_PASSWORD
    )
    zero = keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": 0,
            "parameters": keys.ECDomainParameters(name="named", value="secp256r1"),
        }
    )
    files["ec256-zero.pem"] = armor("EC PRIVATE KEY", zero.dump())
    order = zero.copy()
    order["private_key"] = _P256_ORDER
    files["ec256-order.pem"] = armor("EC PRIVATE KEY", order.dump(force=True))
    bad_rsa = keys.RSAPrivateKey.load(files["rsa-p1.der"]).copy()
    bad_rsa["coefficient"] = bad_rsa["coefficient"].native + 1
    files["rsa-badcrt.pem"] = armor("RSA PRIVATE KEY", bad_rsa.dump(force=True))
    bad_rsa = keys.RSAPrivateKey.load(files["rsa-p1.der"]).copy()
    bad_rsa["private_exponent"] = bad_rsa["private_exponent"].native + 2
    files["rsa-badd.pem"] = armor("RSA PRIVATE KEY", bad_rsa.dump(force=True))
    files["ed25519-p8.der"] = ed25519.Ed25519PrivateKey.generate().private_bytes(
        DER, PKCS8, NO_PASSWORD
    )
    files["ca.pem"] = (REFERENCE / "ca.pem").read_bytes()
    files["ca.csr"] = (REFERENCE / "ca.csr").read_bytes()
    return files


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

LOAD = [
    # input file, the file cryptography loads as the oracle, algorithm, bits, curve
    ("rsa-p8.pem", "rsa-p8.pem", "rsa", 2048, None),
    ("rsa-p1.pem", "rsa-p8.pem", "rsa", 2048, None),
    ("rsa-p8.der", "rsa-p8.pem", "rsa", 2048, None),
    ("rsa-p1.der", "rsa-p8.pem", "rsa", 2048, None),
    ("rsa2056-p8.pem", "rsa2056-p8.pem", "rsa", 2056, None),
    ("rsa8192-p1.pem", "rsa8192-p1.pem", "rsa", 8192, None),
    ("rsa8192-p8.der", "rsa8192-p1.pem", "rsa", 8192, None),
    ("ec256-params.pem", "ec256-params.pem", "ecdsa", 256, "secp256r1"),
    ("ec256-nopub.pem", "ec256-params.pem", "ecdsa", 256, "secp256r1"),
    ("ec384.pem", "ec384.pem", "ecdsa", 384, "secp384r1"),
    ("ec384.der", "ec384.pem", "ecdsa", 384, "secp384r1"),
    ("ec384-noparams.pem", "ec384.pem", "ecdsa", 384, "secp384r1"),
    ("ec384-paramsblock.pem", "ec384.pem", "ecdsa", 384, "secp384r1"),
    ("ec384-compressed.pem", "ec384.pem", "ecdsa", 384, "secp384r1"),
    ("ec521-p8.pem", "ec521-p8.pem", "ecdsa", 521, "secp521r1"),
    ("ec521-p8.der", "ec521-p8.pem", "ecdsa", 521, "secp521r1"),
]


@pytest.mark.parametrize(
    ("name", "oracle_name", "algorithm", "bits", "curve", "as_text"),
    [(*case, False) for case in LOAD]
    + [(*case, True) for case in LOAD if case[0].endswith(".pem")],
)
def test_load_key_made_elsewhere(
    made: dict[str, bytes],
    name: str,
    oracle_name: str,
    algorithm: str,
    bits: int,
    curve: str | None,
    as_text: bool,
) -> None:
    data: str | bytes = made[name]
    if as_text:
        data = made[name].decode("ascii")
    key = _crypto.load_private_key(data)
    oracle = as_cryptography(made[oracle_name])
    assert (key.algorithm, key.bit_size, key.curve) == (algorithm, bits, curve)
    assert key.public_key_info.dump() == spki(oracle)
    assert key.to_pem() == traditional_pem(oracle)  # normalised to cfssl's form
    hash_name = {256: "sha256", 384: "sha384"}.get(bits, "sha512")
    data_to_sign = b"loaded key " + name.encode()
    cryptography_verify(oracle, key.sign(data_to_sign, hash_name), data_to_sign, hash_name)


@pytest.mark.parametrize(
    "name", ["rsa-p8.pem", "ec256-params.pem", "ec521-p8.der", "rsa8192-p1.pem"]
)
@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512"])
def test_verify_accepts_cryptography_signatures_and_rejects_tampering(
    made: dict[str, bytes], name: str, hash_name: str
) -> None:
    key = _crypto.load_private_key(made[name])
    other = _crypto.load_private_key(
        made["ec384.pem" if key.algorithm == "ecdsa" else "rsa2056-p8.pem"]
    )
    oracle = as_cryptography(made[name])
    data = b"signed by cryptography"
    signature = cryptography_sign(oracle, data, hash_name)
    info = key.public_key_info
    assert _crypto.verify_signature(info, signature, data, hash_name) is True
    wrong_hash = "sha384" if hash_name != "sha384" else "sha256"
    bad = [
        (info, signature, data + b"!", hash_name),
        (info, signature, data[1:], hash_name),
        (info, flip_last_byte(signature), data, hash_name),
        (info, signature[:-1], data, hash_name),
        (info, signature + b"\x00", data, hash_name),
        (info, b"", data, hash_name),
        (info, b"\x30\x00", data, hash_name),
        (info, bytes(len(signature)), data, hash_name),
        (info, signature, data, wrong_hash),
        (other.public_key_info, signature, data, hash_name),
    ]
    for case in bad:
        assert _crypto.verify_signature(*case) is False


ENCRYPTED = (
    "the private key is encrypted: kpkilite needs an unencrypted key "
    "(openssl pkey -in KEY -out PLAIN-KEY)"
)
BAD_PEM = "malformed PEM: expected -----BEGIN ...----- base64 -----END ...-----"
NOT_A_KEY = (
    "expected a private key PEM block (RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY), got {}"
)


def concat(*names: str) -> Callable[[dict[str, bytes]], bytes]:
    return lambda made: b"".join(made[name] for name in names)


def literal(data: str | bytes) -> Callable[[dict[str, bytes]], str | bytes]:
    return lambda made: data


LOAD_ERRORS: list[tuple[str, Callable[[dict[str, bytes]], str | bytes], str]] = [
    ("empty", literal(b""), "expected a private key, got empty input"),
    ("blank text", literal(" \n\t"), "expected a private key, got empty input"),
    ("garbage", literal(b"hello, world"), "not a PEM or DER private key"),
    ("der int", literal(b"\x02\x01\x05"), "not a PEM or DER private key"),
    ("der short seq", literal(b"\x30\x03\x02\x01\x01"), "not a PEM or DER private key"),
    (
        "non-ascii text",
        literal("-----BEGIN PRIVATE KEY-----\nü"),
        "a private key must be ASCII PEM text or DER bytes",
    ),
    ("dashes only", literal("-----\n"), BAD_PEM),
    ("truncated", lambda made: made["ec384.pem"][:-20], BAD_PEM),
    ("cut in body", lambda made: made["ec384.pem"][:-60], BAD_PEM),
    ("no end line", lambda made: made["ec384.pem"].split(b"-----END")[0], BAD_PEM),
    (
        "label only",
        literal(b"-----BEGIN EC PRIVATE KEY-----\n-----END EC PRIVATE KEY-----\n"),
        "malformed EC PRIVATE KEY PEM block",
    ),
    (
        "bad body",
        lambda made: armor("RSA PRIVATE KEY", b"\x30\x03\x02\x01\x00"),
        "malformed RSA PRIVATE KEY PEM block",
    ),
    (
        "ec as rsa",
        lambda made: armor("RSA PRIVATE KEY", made["ec384.der"]),
        "malformed RSA PRIVATE KEY PEM block",
    ),
    (
        "rsa as pkcs8",
        lambda made: armor("PRIVATE KEY", made["rsa-p1.der"]),
        "malformed PRIVATE KEY PEM block",
    ),
    ("certificate", lambda made: made["ca.pem"], NOT_A_KEY.format("CERTIFICATE")),
    ("csr", lambda made: made["ca.csr"], NOT_A_KEY.format("CERTIFICATE REQUEST")),
    ("public key", lambda made: made["ed25519-pub.pem"], NOT_A_KEY.format("PUBLIC KEY")),
    ("key then cert", concat("ec384.pem", "ca.pem"), NOT_A_KEY.format("CERTIFICATE")),
    ("two keys", concat("ec384.pem", "rsa-p1.pem"), "expected one private key PEM block, found 2"),
    (
        "params only",
        lambda made: armor(
            "EC PARAMETERS", keys.ECDomainParameters(name="named", value="secp384r1").dump()
        ),
        "expected one private key PEM block, found 0",
    ),
    ("encrypted pkcs8", lambda made: made["enc-p8.pem"], ENCRYPTED),
    ("encrypted pkcs8 der", lambda made: made["enc-p8.der"], ENCRYPTED),
    ("encrypted sec1", lambda made: made["enc-sec1.pem"], ENCRYPTED),
    (
        "rsa 1024 pkcs1",
        lambda made: made["rsa1024-p1.pem"],
        "the RSA private key has 1024 bits: at least 2048 are required",
    ),
    (
        "rsa 1024 pkcs8 der",
        lambda made: made["rsa1024-p8.der"],
        "the RSA private key has 1024 bits: at least 2048 are required",
    ),
    (
        "rsa bad crt",
        lambda made: made["rsa-badcrt.pem"],
        "the RSA private key is inconsistent: its numbers do not fit together",
    ),
    (
        "rsa bad d",
        lambda made: made["rsa-badd.pem"],
        "the RSA private key is inconsistent: its numbers do not fit together",
    ),
    (
        "ed25519",
        lambda made: made["ed25519.pem"],
        "unsupported private key algorithm ed25519: expected RSA or ECDSA",
    ),
    (
        "ed25519 der",
        lambda made: made["ed25519-p8.der"],
        "unsupported private key algorithm ed25519: expected RSA or ECDSA",
    ),
    (
        "secp256k1",
        lambda made: made["ec-k1.pem"],
        "unsupported ECDSA curve secp256k1: expected P-256, P-384 or P-521",
    ),
    (
        "secp256k1 der",
        lambda made: made["ec256-k1-p8.der"],
        "unsupported ECDSA curve secp256k1: expected P-256, P-384 or P-521",
    ),
    (
        "explicit curve",
        lambda made: made["ec-explicit.pem"],
        "the EC private key uses explicit curve parameters: "
        "only the named curves P-256, P-384 and P-521 are supported",
    ),
    ("no curve", lambda made: made["ec384-bare.pem"], "the EC private key does not name its curve"),
    (
        "no curve der",
        lambda made: made["ec384-bare.der"],
        "the EC private key does not name its curve",
    ),
    (
        "d = 0",
        lambda made: made["ec256-zero.pem"],
        "the EC private key is out of range for secp256r1",
    ),
    (
        "d = n",
        lambda made: made["ec256-order.pem"],
        "the EC private key is out of range for secp256r1",
    ),
    (
        "other point",
        lambda made: made["ec384-otherpoint.pem"],
        "the EC private key's embedded public key does not match it",
    ),
    (
        "wrong parity",
        lambda made: made["ec384-compressed-wrong.pem"],
        "the EC private key's embedded public key does not match it",
    ),
]


@pytest.mark.parametrize(
    ("make", "message"), [case[1:] for case in LOAD_ERRORS], ids=[case[0] for case in LOAD_ERRORS]
)
def test_load_errors(
    made: dict[str, bytes], make: Callable[[dict[str, bytes]], str | bytes], message: str
) -> None:
    with pytest.raises(PEMError) as info:
        _crypto.load_private_key(make(made))
    assert str(info.value) == message
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [None, 42, ["key"], memoryview(b"x")])
def test_load_needs_str_or_bytes(value: Any) -> None:
    with pytest.raises(TypeError) as info:
        _crypto.load_private_key(value)
    assert str(info.value) == f"key data must be str or bytes, not {type(value).__name__}"


def test_verify_signature_argument_errors(made: dict[str, bytes]) -> None:
    key = _crypto.load_private_key(made["ec384.pem"])
    with pytest.raises(ValueError) as value_error:
        _crypto.verify_signature(key.public_key_info, b"", b"", "sha1")
    assert str(value_error.value) == "hash_name must be one of sha256, sha384, sha512, not 'sha1'"
    with pytest.raises(TypeError):
        _crypto.verify_signature(key.public_key_info.dump(), b"", b"", "sha256")
    with pytest.raises(TypeError):
        _crypto.verify_signature(key.public_key_info, "sig", b"", "sha256")  # type: ignore[arg-type]
    ed_public = keys.PublicKeyInfo.load(pem.unarmor(made["ed25519-pub.pem"])[2])
    with pytest.raises(PEMError) as pem_error:
        _crypto.verify_signature(ed_public, b"", b"", "sha256")
    assert str(pem_error.value) == "unsupported public key algorithm ed25519: expected RSA or ECDSA"


@pytest.mark.parametrize(
    ("curve", "oracle"),
    [("secp256r1", ec.SECP256R1()), ("secp384r1", ec.SECP384R1()), ("secp521r1", ec.SECP521R1())],
)
def test_curve_orders(curve: str, oracle: ec.EllipticCurve) -> None:
    # cryptography accepts d = n - 1 and refuses d = n; n - 1 loads here and gives -G
    order = _crypto._CURVE_ORDERS[curve]
    with pytest.raises(ValueError):
        ec.derive_private_key(order, oracle)
    last = ec.derive_private_key(order - 1, oracle)
    one = ec.derive_private_key(1, oracle).public_key().public_numbers()
    key = _crypto.load_private_key(last.private_bytes(DER, PKCS8, NO_PASSWORD))
    assert key.public_key_info.dump() == spki(last)
    x, y = last.public_key().public_numbers().x, last.public_key().public_numbers().y
    assert (x, y) == (one.x, oracle_field_negate(one.y, curve))


def oracle_field_negate(y: int, curve: str) -> int:
    primes = {
        "secp256r1": 2**256 - 2**224 + 2**192 + 2**96 - 1,
        "secp384r1": 2**384 - 2**128 - 2**96 + 2**32 - 1,
        "secp521r1": 2**521 - 1,
    }
    return primes[curve] - y


def test_backend_in_this_process() -> None:
    assert _crypto.backend_available() is True
    assert _crypto.load_backend().__name__ == "oscrypto.asymmetric"


# --- properties ----------------------------------------------------------------


def load_or_pem_error(data: str | bytes) -> None:
    try:
        key = _crypto.load_private_key(data)
    except PEMError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert key.algorithm in ("rsa", "ecdsa")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_input_is_a_key_or_pem_error(data: str | bytes) -> None:
    load_or_pem_error(data)


def test_a_curve_oid_that_does_not_fit_the_key_is_a_pem_error() -> None:
    # Found by the mutation test below: a P-384 SEC1 key relabelled as secp256k1 made
    # asn1crypto raise OverflowError from deep inside its lazy parse.
    key = ec.generate_private_key(ec.SECP384R1()).private_bytes(DER, TRADITIONAL, NO_PASSWORD)
    p384 = bytes.fromhex("06052b81040022")  # OID 1.3.132.0.34
    assert key.count(p384) == 1
    relabelled = key.replace(p384, bytes.fromhex("06052b8104000a"))  # 1.3.132.0.10
    with pytest.raises(PEMError):
        _crypto.load_private_key(relabelled)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["ec384.der", "rsa-p1.der", "ec521-p8.der", "rsa-p8.der"]), st.data())
def test_mutated_keys_are_keys_or_pem_errors(
    made: dict[str, bytes], name: str, data: st.DataObject
) -> None:
    der = bytearray(made[name])
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(der) - 1))
        der[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(der)))
    load_or_pem_error(bytes(der[:cut]) if data.draw(st.booleans()) else bytes(der))
    load_or_pem_error(armor("PRIVATE KEY", bytes(der)))
