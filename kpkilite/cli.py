"""The ``kpkilite`` command: cfssl's and cfssljson's command shapes, plus cron and selector tools.

Flags follow Go's ``flag`` package, as cfssl's do: ``-ca=x``, ``-ca x``,
``--ca=x`` and ``--ca x`` are the same, bool flags are bare (``-initca``) or
``-initca=true``. Unlike Go, flags may also follow the positional arguments.

Why not argparse (the house default): it cannot express Go's flag spelling
(``-ca-key`` beside ``-ca``, ``-initca=false``) without surprises, and its
errors print a usage dump; cfssl users need one line that names what they typed
(an en dash in ``–profile`` included) and the flag they probably meant. The
table-driven parser below is small and does exactly that.

Exit status: 0 success, 1 failure (one line on stderr, nothing on stdout, no
file touched), 2 command-line usage error. ``selector`` exits like grep: 0 on a
match, 1 on no match, 2 on an error.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
import warnings
from typing import Any, Dict, List, Mapping, NoReturn, Optional, Sequence, Tuple

from . import __version__
from ._cmd import PROG, Command, Failure, Flag, UsageError, silence_stdout
from ._cmd import err as _err
from ._cmd import out as _out
from ._spec import closest
from .errors import InputError, KpkiliteError, KpkiliteWarning

__all__ = ["main"]

# --- flag parsing ------------------------------------------------------------------------

_DASHES = {
    "\u2010": "hyphen", "\u2011": "non-breaking hyphen", "\u2012": "figure dash",
    "\u2013": "en dash", "\u2014": "em dash", "\u2015": "horizontal bar",
    "\u2212": "minus sign", "\ufe63": "small hyphen-minus", "\uff0d": "fullwidth hyphen-minus",
}


def _unicode_dash_error(arg: str, command: Command) -> UsageError:
    lead = arg[0]
    rest = arg.lstrip("".join(_DASHES) + "-")
    name = rest.split("=", 1)[0]
    guess = _guess_flag(name, command)
    value = rest[len(name):] if rest.isprintable() else ""
    hint = "; did you mean -%s%s?" % (guess, value) if guess else ""
    what = _DASHES.get(lead, unicodedata.name(lead, "dash").lower())
    return UsageError(
        "%s: unknown argument %r: it starts with %s %s (U+%04X), not a hyphen '-'%s"
        % (command.name, arg, "an" if what[0] in "aeiou" else "a", what, ord(lead), hint)
    )


def _guess_flag(name: str, command: Command) -> Optional[str]:
    names = [f.name for f in command.flags]
    if name in names:
        return name
    return closest(name, names)


#: the most digits an integer flag takes (no count or level needs more; int() refuses > 4300)
_INT_DIGITS = 9


def parse_flags(command: Command, argv: Sequence[str]) -> Tuple[Dict[str, Any], List[str]]:
    """Split ``argv`` into flag values and positional arguments (Go flag spelling)."""
    table = {f.name: f for f in command.flags}
    opts: Dict[str, Any] = {f.name: f.default for f in command.flags}
    args: List[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            args.extend(argv[i:])
            break
        if arg[:1] in _DASHES:
            raise _unicode_dash_error(arg, command)
        if not arg.startswith("-") or arg == "-":
            args.append(arg)
            continue
        body = arg[2:] if arg.startswith("--") else arg[1:]
        name, has_value, value = body.partition("=")
        if name in ("h", "help"):
            raise _HelpRequested()
        flag = table.get(name)
        if flag is None:
            guess = _guess_flag(name, command)
            hint = "; did you mean -%s?" % guess if guess else ""
            raise UsageError("%s: unknown flag %r%s" % (command.name, arg, hint))
        if flag.kind == "bool":
            if has_value:
                if value.lower() not in ("true", "false", "1", "0", "t", "f"):
                    raise UsageError("%s: -%s takes true or false, got %r"
                                     % (command.name, name, value))
                opts[name] = value.lower() in ("true", "1", "t")
            else:
                opts[name] = True
            continue
        if not has_value:
            if i >= len(argv):
                raise UsageError("%s: flag -%s needs a value (-%s=%s)"
                                 % (command.name, name, name, flag.metavar))
            value = argv[i]
            i += 1
        if value == "" and not flag.empty_ok:
            raise UsageError("%s: -%s is empty (an unset shell variable?); give %s"
                             % (command.name, name, flag.metavar))
        if flag.kind == "int":
            if not (value.isascii() and value.isdigit()):
                raise UsageError("%s: -%s takes a whole number, got %r"
                                 % (command.name, name, value))
            if len(value.lstrip("0")) > _INT_DIGITS:
                shown = value if len(value) <= 20 else "a %d-digit number" % len(value)
                raise UsageError("%s: -%s %s is too large (at most %d digits)"
                                 % (command.name, name, shown, _INT_DIGITS))
            opts[name] = int(value)
        else:
            opts[name] = value
    if len(args) < command.min_args:
        raise UsageError("%s: missing argument; usage: %s %s" % (command.name, PROG, command.usage))
    if len(args) > command.max_args:
        extra = args[command.max_args]
        raise UsageError("%s: unexpected argument %r; usage: %s %s"
                         % (command.name, extra, PROG, command.usage))
    return opts, args


class _HelpRequested(Exception):
    pass


# --- input helpers -----------------------------------------------------------------------


def _read_input(path: str, what: str) -> bytes:
    """The bytes of ``path`` (``-`` is stdin), at most 16 MiB (files.MAX_INPUT)."""
    from .files import read_file, read_limited

    if path != "-":
        return read_file(path, what)
    stream = sys.stdin
    if stream is None:
        raise Failure("stdin is closed; there is no %s to read (give a FILE, or pipe it in)"
                      % what)
    binary = getattr(stream, "buffer", None)
    try:
        if binary is not None:
            return read_limited(binary, "<stdin>", what)
        text = stream.read(MAX_TEXT)
    except ValueError:  # "I/O operation on closed file"
        raise Failure("stdin is closed; there is no %s to read (give a FILE, or pipe it in)"
                      % what) from None
    except OSError as exc:
        if isinstance(exc, KpkiliteError):  # read_limited's FileError already says it all
            raise
        raise Failure("<stdin>: cannot read %s (%s)" % (what, exc.strerror or exc)) from None
    if len(text) >= MAX_TEXT:
        raise Failure("<stdin>: larger than 16 MiB; not a %s" % what)
    return str(text).encode("utf-8", "surrogateescape")


#: characters read from a text-only stdin (one without a binary buffer)
MAX_TEXT = 16 * 1024 * 1024


def _json_error_message(name: str, text: str, exc: json.JSONDecodeError) -> str:
    """``FILE:LINE:COL: what is wrong`` for a JSON syntax error; names a trailing comma."""
    pos = exc.pos
    j = pos
    while j < len(text) and text[j] in " \t\r\n":
        j += 1
    k = pos - 1
    while k >= 0 and text[k] in " \t\r\n":
        k -= 1
    if j < len(text) and text[j] in "]}" and k >= 0 and text[k] == ",":
        line = text.count("\n", 0, k) + 1
        col = k - (text.rfind("\n", 0, k) + 1) + 1
        closer = "list" if text[j] == "]" else "object"
        return ("%s:%d:%d: trailing comma after the last item of a %s (JSON allows none); "
                "delete it" % (name, line, col, closer))
    return "%s:%d:%d: invalid JSON: %s" % (name, exc.lineno, exc.colno, exc.msg)


def _reject_constant(token: str) -> Any:
    raise ValueError(token)


def load_json(path: str, what: str = "JSON file", empty_hint: str = "") -> Any:
    """Read and parse a JSON document from ``path`` (``-`` is stdin); errors name file:line:col."""
    name = "<stdin>" if path == "-" else path
    raw = _read_input(path, what)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise Failure("%s:%d:%d: not UTF-8 text (byte 0x%02x); save the file as UTF-8"
                      % (name, line, col, raw[exc.start])) from None
    if not text.strip():
        raise Failure("%s: empty input, expected a JSON object%s" % (name, empty_hint))
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise Failure(_json_error_message(name, text, exc)) from None
    except ValueError as exc:
        raise Failure("%s: invalid JSON value %s" % (name, exc)) from None
    except RecursionError:
        raise Failure("%s: JSON nested too deeply" % name) from None
    bad = _surrogate_path(doc)
    if bad is not None:
        raise Failure("%s: %s: contains an unpaired surrogate (a lone \\ud800-\\udfff escape), "
                      "which is not text" % (name, bad))
    return doc


def load_json_object(path: str, what: str, empty_hint: str = "") -> Dict[str, Any]:
    """:func:`load_json` for a document that must be a JSON object (a spec or config)."""
    from ._spec import json_type

    doc = load_json(path, what, empty_hint)
    if not isinstance(doc, dict):
        name = "<stdin>" if path == "-" else path
        raise Failure("%s: expected a JSON object (a %s), got %s" % (name, what, json_type(doc)))
    return doc


#: the most digits of a JSON integer (no field takes more; Python's int() refuses > 4300)
_JSON_INT_DIGITS = 1000


def _parse_int(digits: str) -> int:
    if len(digits) > _JSON_INT_DIGITS:
        raise ValueError("%d-digit integer is too large" % len(digits.lstrip("-")))
    return int(digits)


def _surrogate_path(doc: Any) -> Optional[str]:
    """The JSON path of the first string (or key) holding an unpaired surrogate, or None."""
    stack: List[Tuple[str, Any]] = [("", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not _encodes(value):
                return path or "the document"
        elif isinstance(value, dict):
            for key in reversed(list(value)):
                where = "%s.%s" % (path, key) if path else key
                if not _encodes(key):
                    return "a key of %s" % (path or "the top-level object")
                stack.append((where, value[key]))
        elif isinstance(value, list):
            stack.extend(("%s[%d]" % (path, i), item) for i, item in reversed(
                list(enumerate(value))))
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _go_json(obj: Any, indent: Optional[int] = None) -> str:
    """JSON as Go's encoding/json writes it: UTF-8, <, > and & escaped."""
    if indent is None:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(obj, indent=indent, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _prefixed(exc: KpkiliteError, prefixes: Mapping[str, str]) -> NoReturn:
    """Name the file behind an argument: ``ca_key: ...`` -> ``-ca-key ca.pem: ...``.

    One substitution pass over the library's message (the parameter name at its
    start, ``ca_cert``/``ca_key`` anywhere), so a file name that itself holds
    ``ca_cert`` is never substituted again.
    """
    message = exc.message if isinstance(exc, InputError) else str(exc)
    message = _HOSTS_ITEM.sub("-hostname: ", message) if "hosts" in prefixes else message
    alternatives = []
    if prefixes:
        names = "|".join(re.escape(a) for a in sorted(prefixes, key=len, reverse=True))
        alternatives.append(r"\A(?P<lead>%s)(?=: | )" % names)
    inner = [a for a in ("ca_cert", "ca_key") if a in prefixes]  # "... match ca_cert"
    if inner:
        alternatives.append(r"\b(?P<inner>%s)\b" % "|".join(inner))
    if alternatives:
        message = re.sub("|".join(alternatives),
                         lambda m: prefixes[m.group("lead") or m.group("inner")], message)
    raise Failure(message) from exc


#: ``hosts[2]: `` at the start of a library message about a -hostname entry
_HOSTS_ITEM = re.compile(r"\Ahosts\[[0-9]+\]: ")


# --- PKI commands ------------------------------------------------------------------------


def _signing_inputs(opts: Dict[str, Any], command: str) -> Tuple[bytes, bytes, Optional[Any]]:
    if not opts["ca"] or not opts["ca-key"]:
        missing = "-ca FILE" if not opts["ca"] else "-ca-key FILE"
        hint = " (or -initca for a new self-signed CA)" if command == "gencert" else ""
        raise UsageError("%s: %s is required to sign%s" % (command, missing, hint))
    from .files import read_file

    ca_cert = read_file(opts["ca"], "CA certificate")
    ca_key = read_file(opts["ca-key"], "CA key")
    config = load_json_object(opts["config"], "signing config") if opts["config"] else None
    return ca_cert, ca_key, config


def _hosts_flag(value: Optional[str]) -> Optional[List[str]]:
    """``-hostname a,b`` -> ``["a", "b"]``; unset or empty means the spec's hosts (as cfssl)."""
    if not value:
        return None
    hosts = [h.strip() for h in value.split(",")]
    if "" in hosts:
        raise UsageError("-hostname %r: empty host name between commas; write a,b" % value)
    return hosts


def _config_error(opts: Dict[str, Any], exc: InputError) -> Failure:
    """A signing-config error, named after -config FILE (or -profile when there is none)."""
    if opts["config"]:
        return Failure("%s: %s" % (opts["config"], exc.message))
    if opts["profile"]:
        return Failure("-profile %s: there is no -config FILE, and cfssl's built-in default "
                       "config has no profiles; add -config FILE" % opts["profile"])
    return Failure(exc.message)


def _labels_for(opts: Dict[str, Any], spec_path: str) -> Dict[str, str]:
    labels = {"csr": spec_path}
    if opts.get("hostname"):
        labels["hosts"] = "-hostname"
    if opts.get("ca"):
        labels["ca_cert"] = "-ca %s" % opts["ca"]
    if opts.get("ca-key"):
        labels["ca_key"] = "-ca-key %s" % opts["ca-key"]
    if opts.get("config"):
        labels["signing"] = "%s: signing" % opts["config"]
        labels["profile"] = "%s: profile" % opts["config"]
    return labels


def _spec_with_hosts(spec: Any, hosts: Optional[List[str]]) -> Any:
    if hosts is None or not isinstance(spec, dict):
        return spec
    spec = {k: v for k, v in spec.items() if k.lower() != "hosts"}
    spec["hosts"] = hosts
    return spec


def _spec_error(spec_path: str, hosts: Optional[List[str]], exc: InputError) -> Failure:
    """A CSR spec error, named after the file, or after -hostname for the hosts it replaced."""
    if hosts is not None and _HOSTS_ITEM.match(exc.message):
        return Failure(_HOSTS_ITEM.sub("-hostname: ", exc.message))
    return Failure("%s: %s" % (spec_path, exc.message))


def _cmd_gencert(opts: Dict[str, Any], args: List[str]) -> int:
    from . import signing
    from .errors import CSRSpecError, SigningConfigError

    spec_path = args[0]
    hosts = _hosts_flag(opts["hostname"])
    if opts["initca"]:
        if opts["ca"] or opts["ca-key"]:
            raise UsageError("gencert: -initca makes a new self-signed CA with a new key; drop "
                             "-ca/-ca-key (re-signing a CA with its existing key is not supported)")
        spec = _spec_with_hosts(load_json_object(spec_path, "CSR spec"), hosts)
        try:
            result = signing.create_ca(spec)
        except CSRSpecError as exc:
            raise _spec_error(spec_path, hosts, exc) from None
    else:
        ca_cert, ca_key, config = _signing_inputs(opts, "gencert")
        spec = _spec_with_hosts(load_json_object(spec_path, "CSR spec"), hosts)
        try:
            result = signing.issue_cert(spec, ca_cert=ca_cert, ca_key=ca_key, config=config,
                                        profile=opts["profile"])
        except CSRSpecError as exc:
            raise _spec_error(spec_path, hosts, exc) from None
        except SigningConfigError as exc:
            raise _config_error(opts, exc) from None
        except KpkiliteError as exc:
            _prefixed(exc, _labels_for(opts, spec_path))
    _out(_go_json(result) + "\n")
    return 0


def _cmd_genkey(opts: Dict[str, Any], args: List[str]) -> int:
    from . import csr, signing
    from .errors import CSRSpecError

    spec_path = args[0]
    spec = load_json_object(spec_path, "CSR spec")
    try:
        result = signing.create_ca(spec) if opts["initca"] else csr.generate_csr(spec)
    except CSRSpecError as exc:
        raise Failure("%s: %s" % (spec_path, exc.message)) from None
    _out(_go_json(result) + "\n")
    return 0


def _cmd_sign(opts: Dict[str, Any], args: List[str]) -> int:
    from . import signing
    from .errors import SigningConfigError

    csr_path = args[0] if args else opts["csr"]
    if not csr_path:
        raise UsageError("sign: missing CSR file; usage: %s %s" % (PROG, COMMANDS["sign"].usage))
    hosts = _hosts_flag(opts["hostname"])
    ca_cert, ca_key, config = _signing_inputs(opts, "sign")
    request = _read_input(csr_path, "CSR")
    try:
        cert = signing.sign_csr(request, ca_cert=ca_cert, ca_key=ca_key, config=config,
                                profile=opts["profile"], hosts=hosts)
    except SigningConfigError as exc:
        raise _config_error(opts, exc) from None
    except KpkiliteError as exc:
        _prefixed(exc, _labels_for(opts, "<stdin>" if csr_path == "-" else csr_path))
    _out(_go_json({"cert": cert}) + "\n")
    return 0


_DEFAULTS = {
    "config": {
        "signing": {
            "default": {"expiry": "168h"},
            "profiles": {
                "www": {"expiry": "8760h",
                        "usages": ["signing", "key encipherment", "server auth"]},
                "client": {"expiry": "8760h",
                           "usages": ["signing", "key encipherment", "client auth"]},
            },
        }
    },
    "csr": {
        "CN": "example.net",
        "hosts": ["example.net", "www.example.net"],
        "key": {"algo": "ecdsa", "size": 256},
        "names": [{"C": "US", "ST": "CA", "L": "San Francisco"}],
    },
}


def _cmd_print_defaults(opts: Dict[str, Any], args: List[str]) -> int:
    what = args[0]
    if what == "list":
        _out("Default configurations are available for:\n\tconfig\n\tcsr\n")
        return 0
    if what not in _DEFAULTS:
        raise UsageError("print-defaults: unknown item %r; choose config or csr%s"
                         % (what, "" if not closest(what, _DEFAULTS) else
                            " (did you mean %s?)" % closest(what, _DEFAULTS)))
    _out(json.dumps(_DEFAULTS[what], indent=4) + "\n\n")
    return 0


def _cmd_version(opts: Dict[str, Any], args: List[str]) -> int:
    runtime = ".".join(map(str, sys.version_info[:3]))
    _out("Version: %s\nRuntime: python%s\n" % (__version__, runtime))
    return 0


def _cmd_json(opts: Dict[str, Any], args: List[str]) -> int:
    from .files import write_bare

    source = opts["f"] or "-"
    name = args[0] if args else "cert"
    hint = " (did the command before the pipe fail?)" if source == "-" else ""
    doc = load_json(source, "JSON input", hint)
    where = "<stdin>" if source == "-" else source
    if not isinstance(doc, dict):
        raise Failure("%s: expected a JSON object with cert/key/csr" % where)
    if not opts["bare"]:
        result = doc.get("result")
        if not isinstance(result, dict):
            raise Failure("%s: not a cfssl API response (no \"result\"); for the output of "
                          "gencert, genkey or sign, add -bare" % where)
        doc = result
    if opts["stdout"]:
        parts = [doc[p] for p in ("cert", "key", "csr") if isinstance(doc.get(p), str)]
        if not parts:
            raise Failure("%s: the JSON input has no cert, key or csr" % where)
        _out("".join(p if p.endswith("\n") else p + "\n" for p in parts))
        return 0
    try:
        write_bare(doc, name, force=opts["force"])
    except InputError as exc:
        raise Failure("%s: %s" % (where, exc.message)) from None
    return 0


def _cmd_certinfo(opts: Dict[str, Any], args: List[str]) -> int:
    from . import certinfo

    if bool(opts["cert"]) == bool(opts["csr"]):
        raise UsageError("certinfo: give exactly one of -cert FILE or -csr FILE")
    path = opts["cert"] or opts["csr"]
    data = _read_input(path, "certificate" if opts["cert"] else "CSR")
    name = "<stdin>" if path == "-" else path
    try:
        info = certinfo.inspect_cert(data) if opts["cert"] else certinfo.inspect_csr(data)
    except InputError as exc:
        raise Failure("%s: %s" % (name, exc.message)) from None
    _out(_go_json(info, indent=2) + "\n")
    return 0


# --- cron and selector -------------------------------------------------------------------


def _cmd_cron(opts: Dict[str, Any], args: List[str]) -> int:
    import itertools
    from datetime import datetime, timezone

    from . import cron

    schedule = cron.parse_schedule(args[0])
    tz = opts["tz"]
    if tz is not None:
        cron.validate_time_zone(tz)
    if opts["from"]:
        try:
            start = datetime.fromisoformat(opts["from"].replace("Z", "+00:00"))
        except ValueError:
            raise UsageError("cron: --from %r is not an ISO 8601 time such as "
                             "2024-01-31T09:00:00+00:00" % opts["from"]) from None
        if start.tzinfo is None:
            if tz:
                from zoneinfo import ZoneInfo

                start = start.replace(tzinfo=ZoneInfo(tz))
            else:
                start = start.replace(tzinfo=timezone.utc)
    else:
        start = datetime.now(timezone.utc)
    count = opts["n"]
    if count > _CRON_MAX_N:
        raise UsageError("cron: -n %d is too many; at most %d" % (count, _CRON_MAX_N))
    times = list(itertools.islice(cron.iter_fire_times(schedule, start, tz=tz), count))
    _out("".join(t.isoformat() + "\n" for t in times))
    if len(times) < count:
        _err("%s: cron: %s after %s (the search stops 5 years ahead, as Kubernetes', "
             "and at year 9999)\n" % (PROG, "no further fire time" if times else "no fire time",
                                      start.isoformat()))
    return 0


#: the most fire times ``cron -n`` prints (about 70 days of an every-minute schedule)
_CRON_MAX_N = 100000


def _parse_label_pairs(text: str) -> Dict[str, str]:
    from . import labels

    result: Dict[str, str] = labels.parse_labels(text)
    return result


def _cmd_selector(opts: Dict[str, Any], args: List[str]) -> int:
    from . import labels

    if opts["labels"] is not None and opts["labels-json"] is not None:
        raise UsageError("selector: give --labels or --labels-json, not both")
    selector = labels.parse_selector(args[0])
    if opts["labels-json"] is not None:
        doc = load_json(opts["labels-json"], "labels JSON")
        if isinstance(doc, dict) and isinstance(doc.get("metadata"), dict):
            doc = doc["metadata"].get("labels") or {}
        if not isinstance(doc, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
        ):
            raise Failure("%s: expected a JSON object of string labels" % opts["labels-json"])
        pairs: Dict[str, str] = doc
    else:
        pairs = _parse_label_pairs(opts["labels"] or "")
    matched = labels.matches(selector, pairs)
    _out("true\n" if matched else "false\n")
    return 0 if matched else 1


# --- the command table -------------------------------------------------------------------

#: cfssl's global flag, accepted by every cfssl-shaped command so scripts keep working
_LOGLEVEL = Flag("loglevel", "int", "accepted and ignored (cfssl's log level)", "N", 1)

_CA_FLAGS = (
    Flag("ca", "str", "CA certificate file", "FILE", empty_ok=False),
    Flag("ca-key", "str", "CA private key file", "FILE", empty_ok=False),
    Flag("config", "str", "signing config JSON file", "FILE", empty_ok=False),
    Flag("profile", "str", "signing profile name (default: the config's default)", "NAME"),
)
_SIGN_FLAGS = _CA_FLAGS + (
    Flag("hostname", "str", "comma-separated hosts, replacing the spec's", "HOSTS"),
)

COMMANDS: Dict[str, Command] = {}


def _register(command: Command) -> None:
    COMMANDS[command.name] = command


_register(Command(
    "gencert", "make a key and a certificate from a CSR spec (JSON on stdout)",
    "gencert -initca CSRJSON | gencert -ca FILE -ca-key FILE [-config FILE] [-profile NAME] "
    "[-hostname HOSTS] CSRJSON",
    (Flag("initca", "bool", "make a new self-signed CA"),) + _SIGN_FLAGS + (_LOGLEVEL,),
    _cmd_gencert, 1, 1, "cfssl gencert"))
_register(Command(
    "genkey", "make a key and a CSR (with -initca: a self-signed CA)",
    "genkey [-initca] CSRJSON",
    (Flag("initca", "bool", "make a new self-signed CA"), Flag("config", "str", "ignored", "FILE"),
     _LOGLEVEL),
    _cmd_genkey, 1, 1, "cfssl genkey"))
_register(Command(
    "sign", "sign a CSR with a CA (JSON on stdout)",
    "sign -ca FILE -ca-key FILE [-config FILE] [-profile NAME] [-hostname HOSTS] CSR",
    _CA_FLAGS + (Flag("hostname", "str", "comma-separated hosts, replacing the CSR's SANs",
                      "HOSTS"),
                 Flag("csr", "str", "CSR file (or give it as the argument)", "FILE",
                      empty_ok=False),
                 _LOGLEVEL),
    _cmd_sign, 0, 1, "cfssl sign"))
_register(Command(
    "print-defaults", "print an example signing config or CSR spec",
    "print-defaults config|csr", (_LOGLEVEL,), _cmd_print_defaults, 1, 1,
    "cfssl print-defaults"))
_register(Command("version", "print the version", "version", (_LOGLEVEL,), _cmd_version, 0, 0,
                  "cfssl version"))
_register(Command(
    "json", "write gencert/genkey/sign JSON as files (cfssljson)",
    "json -bare [-f FILE] [-force] [-stdout] NAME",
    (Flag("bare", "bool", "the input is gencert/genkey/sign output, not an API response"),
     Flag("f", "str", "JSON input file (default: stdin)", "FILE", empty_ok=False),
     Flag("stdout", "bool", "print the PEM parts instead of writing files"),
     Flag("force", "bool", "allow replacing an existing CA private key")),
    _cmd_json, 0, 1, "cfssljson"))
_register(Command(
    "certinfo", "show a certificate or CSR as cfssl certinfo's JSON",
    "certinfo -cert FILE | -csr FILE   (FILE '-' reads stdin)",
    (Flag("cert", "str", "certificate file", "FILE", empty_ok=False),
     Flag("csr", "str", "CSR file", "FILE", empty_ok=False),
     _LOGLEVEL),
    _cmd_certinfo, 0, 0, "cfssl certinfo"))
_register(Command(
    "cron", "print the next fire times of a Kubernetes CronJob schedule",
    "cron 'EXPR' [--tz ZONE] [--from ISO] [-n 5]",
    (Flag("tz", "str", "IANA time zone (CronJob spec.timeZone)", "ZONE", empty_ok=False),
     Flag("from", "str", "start time, ISO 8601 (default: now); without an offset it is "
          "read in --tz, else UTC", "ISO", empty_ok=False),
     Flag("n", "int", "how many times to print (default 5)", "N", 5)),
    _cmd_cron, 1, 1, "-"))
_register(Command(
    "selector", "test labels against a Kubernetes label selector (exit 0 match, 1 no match)",
    "selector 'EXPR' [--labels k=v,k2=v2 | --labels-json FILE]",
    (Flag("labels", "str", "labels as k=v,k2=v2", "LABELS"),
     Flag("labels-json", "str", "JSON object of labels (or an object with metadata.labels)",
          "FILE", empty_ok=False)),
    _cmd_selector, 1, 1, "-"))


def _register_optional() -> None:
    """Commands that live in their own module (kept out of this file to keep it one thing)."""
    from ._cli_k8s import COMMAND as k8s_pki
    from ._pyz import COMMAND as pyz

    _register(k8s_pki)
    _register(pyz)


_register_optional()


def _command_help(command: Command) -> str:
    lines = ["usage: %s %s" % (PROG, command.usage), "", command.summary]
    if command.replaces and command.replaces != "-":
        lines.append("replaces: %s" % command.replaces)
    if command.flags:
        lines.append("")
        lines.append("flags (-flag=value, -flag value, --flag=value all work):")
        for f in command.flags:
            left = "-%s" % f.name if f.kind == "bool" else "-%s %s" % (f.name, f.metavar)
            lines.append("  %-22s %s" % (left, f.help))
    return "\n".join(lines) + "\n"


def _main_help() -> str:
    lines = ["usage: %s COMMAND [flags] [args]" % PROG, "", "commands:"]
    for cmd in COMMANDS.values():
        lines.append("  %-15s %s" % (cmd.name, cmd.summary))
    lines += ["", "'%s COMMAND -h' shows a command's flags." % PROG]
    return "\n".join(lines) + "\n"


def _emit_warnings(caught: List[warnings.WarningMessage]) -> None:
    for w in caught:
        _err("%s: warning: %s\n" % (PROG, w.message))


def _one_line(text: str) -> str:
    return " ".join(text.split("\n")[0:1]) if "\n" in text else text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        _err(_main_help())
        return 2
    first = args[0]
    if first in ("-h", "--help", "-help", "help"):
        try:
            _out(_main_help())
        except (Failure, BrokenPipeError) as exc:
            if isinstance(exc, Failure):
                _err("%s: %s\n" % (PROG, exc))
            return 1
        return 0
    if first in ("--version", "-version"):
        first = "version"
    command = COMMANDS.get(first)
    if command is None:
        guess = closest(first, COMMANDS)
        hint = "; did you mean %r?" % guess if guess else ""
        _err("%s: unknown command %r%s (see '%s --help')\n" % (PROG, first, hint, PROG))
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KpkiliteWarning)
        status = _run(command, args[1:])
    if status == 0 or (status == 1 and command.name == "selector"):
        _emit_warnings(caught)  # a failure is its one error line, nothing else
    return status


def _run(command: Command, argv: List[str]) -> int:
    try:
        try:
            opts, args = parse_flags(command, argv)
        except _HelpRequested:
            _out(_command_help(command))
            return 0
        return command.handler(opts, args)
    except UsageError as exc:
        _err("%s: %s\n" % (PROG, exc))
        return 2
    except Failure as exc:
        _err("%s: %s\n" % (PROG, exc))
        return 1 if command.name != "selector" else 2
    except KpkiliteError as exc:
        text = str(exc)
        if isinstance(exc, InputError) and exc.text is not None:
            _err("%s: %s\n" % (PROG, text))  # message plus the caret lines
        else:
            _err("%s: %s\n" % (PROG, _one_line(text)))
        return 1 if command.name != "selector" else 2
    except BrokenPipeError:
        silence_stdout()
        return 1
    except KeyboardInterrupt:
        _err("%s: interrupted\n" % PROG)
        return 130

