"""Loading the backend: laziness, the OpenSSL-version shim, and BackendError.

Every test here runs a fresh interpreter, because oscrypto can be imported (and
its FFI chosen) only once per process. The child prints one JSON line; the
parent checks it, including with the ``cryptography`` package as an oracle.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import oscrypto
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

ROOT = Path(__file__).resolve().parent.parent
OSCRYPTO_DIR = Path(oscrypto.__file__).resolve().parent
VERSION_MODULES = ("_libcrypto_cffi.py", "_libcrypto_ctypes.py")
OLD_REGEX = r"re.search('\\b(\\d\\.\\d\\.\\d[a-z]*)\\b', version_string)"
FIXED_REGEX = r"re.search('\\b(\\d+\\.\\d+\\.\\d+[a-z]*)\\b', version_string)"
NEVER_REGEX = r"re.search('\\b(never-matches)\\b', version_string)"
VERSION_ERROR_LINE = "raise LibraryNotFoundError('Error detecting the version of libcrypto')"
OTHER_ERROR_LINE = "raise LibraryNotFoundError('Could not detect the libcrypto version')"
INSTALL_HINT = (
    "kpkilite needs OpenSSL's libcrypto 1.1 or 3.x: "
    "install libssl3 (Debian/Ubuntu) or openssl-libs (RHEL/Fedora)"
)
FFIS = ["cffi", "ctypes"]


def _libcrypto_version() -> str:
    lib = ctypes.CDLL(ctypes.util.find_library("crypto"))
    lib.OpenSSL_version.restype = ctypes.c_char_p
    lib.OpenSSL_version.argtypes = [ctypes.c_int]
    version: bytes = lib.OpenSSL_version(0)
    return version.decode()


LIBCRYPTO_VERSION = _libcrypto_version()
#: does oscrypto 1.3.0's own regex fail here? (True for OpenSSL 3.0.10+, e.g. 3.0.19)
NEEDS_SHIM = re.search(r"\b(\d\.\d\.\d[a-z]*)\b", LIBCRYPTO_VERSION) is None
_found = re.search(r"\b(\d+)\.(\d+)\.(\d+)", LIBCRYPTO_VERSION)
assert _found is not None
VERSION_INFO = [int(part) for part in _found.groups()]


def run_child(script: str, *, ffi: str = "default", pythonpath: tuple[Path, ...] = ()) -> Any:
    """Run ``script`` in a fresh interpreter after choosing oscrypto's FFI; return its JSON."""
    prelude = "import json, sys\n"
    if ffi == "ctypes":
        prelude += "import oscrypto\noscrypto.use_ctypes()\n"
    elif ffi == "cffi":
        # Another part of the process settling oscrypto's backend first: kpkilite then
        # keeps oscrypto's own default, which is cffi when cffi is installed.
        prelude += "import oscrypto\noscrypto.backend()\n"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (*pythonpath, ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def copy_oscrypto(dest: Path, old: str, new: str) -> Path:
    """Copy the installed oscrypto into ``dest`` with ``old`` replaced by ``new`` in both
    version modules: a stand-in for an oscrypto release we do not have."""
    target = dest / "oscrypto"
    shutil.copytree(OSCRYPTO_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    for name in VERSION_MODULES:
        path = target / "_openssl" / name
        source = path.read_text(encoding="utf-8")
        assert source.count(old) == 1
        path.write_text(source.replace(old, new), encoding="utf-8")
    return dest


def source_digests() -> dict[str, str]:
    return {
        name: hashlib.sha256((OSCRYPTO_DIR / "_openssl" / name).read_bytes()).hexdigest()
        for name in VERSION_MODULES
    }


ROUND_TRIP = """
    from kpkilite import _crypto
    from kpkilite.errors import BackendError
    import oscrypto
    keys = []
    for algorithm, size, hash_name in [("rsa", 2048, "sha256"), ("ecdsa", 256, "sha256"),
                                       ("ecdsa", 384, "sha384")]:
        key = _crypto.generate_private_key(algorithm, size)
        data = b"round trip " + algorithm.encode()
        sig = key.sign(data, hash_name)
        again = _crypto.load_private_key(key.to_pem())
        keys.append({
            "pem": key.to_pem(), "sig": sig.hex(), "data": data.hex(), "hash": hash_name,
            "ours": _crypto.verify_signature(key.public_key_info, sig, data, hash_name),
            "tampered": _crypto.verify_signature(key.public_key_info, sig, data + b"!", hash_name),
            "reloaded": again.to_pem() == key.to_pem(),
        })
    from oscrypto._openssl import _libcrypto  # loaded (with the shim if needed) by now
    print(json.dumps({
        "shim": _crypto.SHIM_APPLIED,
        "ffi": oscrypto.ffi(),
        "version_info": list(_libcrypto.libcrypto_version_info),
        "oscrypto_file": oscrypto.__file__,
        "hooks_left": [f for f in map(repr, sys.meta_path) if "VersionRegex" in f],
        "available": _crypto.backend_available(),
        "description": _crypto.backend_description(),
        "keys": keys,
    }))
"""

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def check_with_cryptography(keys: list[dict[str, Any]]) -> None:
    """The cryptography package loads each PEM and accepts each signature."""
    for item in keys:
        key = serialization.load_pem_private_key(item["pem"].encode(), None)
        sig, data = bytes.fromhex(item["sig"]), bytes.fromhex(item["data"])
        hash_algorithm = HASHES[item["hash"]]()
        if isinstance(key, rsa.RSAPrivateKey):
            key.public_key().verify(sig, data, padding.PKCS1v15(), hash_algorithm)
        else:
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            key.public_key().verify(sig, data, ec.ECDSA(hash_algorithm))
        assert item["ours"] is True
        assert item["tampered"] is False
        assert item["reloaded"] is True


def test_importing_crypto_module_does_not_load_oscrypto() -> None:
    result = run_child(
        """
        import kpkilite._crypto
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "oscrypto")))
        """
    )
    assert result == []


def test_kpkilite_prefers_ctypes_when_nothing_chose_a_backend() -> None:
    result = run_child(
        """
        from kpkilite import _crypto
        import oscrypto
        print(json.dumps(_crypto.backend_description()))
        """,
        ffi="default",
    )
    assert result.startswith("oscrypto 1.3.0 (ctypes), OpenSSL ")


def test_this_machine_needs_the_shim() -> None:
    # The reason the shim exists; informative if the test machine changes.
    if not NEEDS_SHIM:
        pytest.skip(f"libcrypto {LIBCRYPTO_VERSION!r} is read fine by oscrypto 1.3.0")
    assert VERSION_INFO >= [3, 0, 10]


@pytest.mark.parametrize("ffi", FFIS)
def test_installed_oscrypto_round_trip(ffi: str) -> None:
    before = source_digests()
    result = run_child(ROUND_TRIP, ffi=ffi)
    assert result["ffi"] == ffi
    assert result["shim"] is NEEDS_SHIM
    assert result["version_info"][:3] == VERSION_INFO
    assert Path(result["oscrypto_file"]).resolve().parent == OSCRYPTO_DIR
    assert result["hooks_left"] == []
    assert result["available"] is True
    assert result["description"].startswith(f"oscrypto 1.3.0 ({ffi}), OpenSSL ")
    assert result["description"].endswith(", version shim applied") is NEEDS_SHIM
    check_with_cryptography(result["keys"])
    assert source_digests() == before  # in memory only: nothing on disk changed


@pytest.mark.parametrize("ffi", FFIS)
def test_shim_is_a_no_op_on_an_oscrypto_that_imports(tmp_path: Path, ffi: str) -> None:
    # Simulate a fixed oscrypto release: upstream's regex in a copy on PYTHONPATH.
    fixed = copy_oscrypto(tmp_path, OLD_REGEX, FIXED_REGEX)
    result = run_child(ROUND_TRIP, ffi=ffi, pythonpath=(fixed,))
    assert Path(result["oscrypto_file"]).resolve().parent == (fixed / "oscrypto").resolve()
    assert result["ffi"] == ffi
    assert result["shim"] is False
    assert result["version_info"][:3] == VERSION_INFO
    assert not result["description"].endswith("shim applied")
    check_with_cryptography(result["keys"])


FAILURE = """
    from kpkilite import _crypto
    from kpkilite.errors import BackendError
    try:
        _crypto.generate_private_key("ecdsa", 256)
    except BackendError as exc:
        cause = exc.__cause__
        print(json.dumps({
            "message": str(exc),
            "cause": type(cause).__module__ + "." + type(cause).__name__,
            "cause_message": str(cause),
            "shim": _crypto.SHIM_APPLIED,
            "available": _crypto.backend_available(),
            "hooks_left": [f for f in map(repr, sys.meta_path) if "VersionRegex" in f],
        }))
    else:
        print(json.dumps({"message": None}))
"""


@pytest.mark.parametrize("ffi", FFIS)
def test_shim_refuses_an_oscrypto_whose_source_it_does_not_know(tmp_path: Path, ffi: str) -> None:
    # Same error message, but the line the shim replaces is not there: don't guess.
    broken = copy_oscrypto(tmp_path, OLD_REGEX, NEVER_REGEX)
    result = run_child(FAILURE, ffi=ffi, pythonpath=(broken,))
    module = f"oscrypto._openssl._libcrypto_{ffi}"
    assert result == {
        "message": "oscrypto cannot detect the libcrypto version (Error detecting the version "
        "of libcrypto) and kpkilite's workaround does not fit this oscrypto "
        f"({module} does not contain the expected version regex); "
        "install an oscrypto release newer than 1.3.0",
        "cause": "oscrypto.errors.LibraryNotFoundError",
        "cause_message": "Error detecting the version of libcrypto",
        "shim": False,
        "available": False,
        "hooks_left": [],
    }


@pytest.mark.skipif(not NEEDS_SHIM, reason="oscrypto 1.3.0 reads this libcrypto version")
@pytest.mark.parametrize("ffi", FFIS)
def test_shim_ignores_another_library_not_found_message(tmp_path: Path, ffi: str) -> None:
    # The regex the shim would fix is still there, but the error text differs:
    # the shim must not run (if it did, this import would succeed).
    other = copy_oscrypto(tmp_path, VERSION_ERROR_LINE, OTHER_ERROR_LINE)
    result = run_child(FAILURE, ffi=ffi, pythonpath=(other,))
    assert result == {
        "message": "cannot use libcrypto through oscrypto (Could not detect the libcrypto "
        f"version); {INSTALL_HINT}",
        "cause": "oscrypto.errors.LibraryNotFoundError",
        "cause_message": "Could not detect the libcrypto version",
        "shim": False,
        "available": False,
        "hooks_left": [],
    }


MISSING_LIBCRYPTO = (
    """
    import ctypes.util
    ctypes.util.find_library = lambda name: None
"""
    + FAILURE
)

UNLOADABLE_LIBCRYPTO = (
    """
    import ctypes.util
    ctypes.util.find_library = lambda name: "/nonexistent/libcrypto.so.3"
"""
    + FAILURE
)


@pytest.mark.parametrize("ffi", FFIS)
def test_libcrypto_not_found_is_backend_error_not_shimmed(ffi: str) -> None:
    # A LibraryNotFoundError with another message must not trigger the shim.
    result = run_child(MISSING_LIBCRYPTO, ffi=ffi)
    assert result == {
        "message": "cannot use libcrypto through oscrypto (The library libcrypto could not "
        f"be found); {INSTALL_HINT}",
        "cause": "oscrypto.errors.LibraryNotFoundError",
        "cause_message": "The library libcrypto could not be found",
        "shim": False,
        "available": False,
        "hooks_left": [],
    }


@pytest.mark.parametrize("ffi", FFIS)
def test_libcrypto_that_does_not_load_is_backend_error(ffi: str) -> None:
    result = run_child(UNLOADABLE_LIBCRYPTO, ffi=ffi)
    assert result["message"].startswith("cannot use libcrypto through oscrypto (")
    assert "/nonexistent/libcrypto.so.3" in result["message"]
    assert result["message"].endswith(f"); {INSTALL_HINT}")
    assert "\n" not in result["message"]
    assert result["cause"] == "builtins.OSError"
    assert result["shim"] is False
    assert result["available"] is False


def test_missing_oscrypto_is_backend_error() -> None:
    result = run_child('sys.modules["oscrypto"] = None\n' + textwrap.dedent(FAILURE))
    assert result["message"] == (
        "kpkilite needs the Python package oscrypto: pip install 'oscrypto>=1.3'"
    )
    assert result["cause"] == "builtins.ModuleNotFoundError"
    assert result["available"] is False
