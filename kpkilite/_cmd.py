"""What every ``kpkilite`` subcommand module shares: the command table's types and output.

Kept apart from :mod:`.cli` so that a command defined in its own module
(``_cli_k8s``, ``_pyz``) imports this, not the CLI that lists it: no import cycle
whichever module is imported first.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any, Callable, Dict, List, Tuple

__all__ = ["PROG", "Command", "Failure", "Flag", "UsageError", "err", "out", "silence_stdout"]

PROG = "kpkilite"


class UsageError(Exception):
    """A command-line mistake: exit status 2."""


class Failure(Exception):
    """A failure with a ready message: exit status 1."""


class Flag:
    """One flag of a command: ``kind`` is "str", "bool" or "int"."""

    __slots__ = ("name", "kind", "help", "metavar", "default", "empty_ok")

    def __init__(
        self,
        name: str,
        kind: str,
        help: str,
        metavar: str = "VALUE",
        default: Any = None,
        *,
        empty_ok: bool = True,
    ) -> None:
        self.name = name
        self.kind = kind
        self.help = help
        self.metavar = metavar
        self.default = default
        #: False: an empty value (``-ca "$UNSET"``) is a usage error, not "not given"
        self.empty_ok = empty_ok

    def __repr__(self) -> str:
        return "Flag(%r, %r)" % (self.name, self.kind)


class Command:
    """One subcommand: its flags, positional-argument bounds and handler.

    (Plain classes, not dataclasses: importing ``dataclasses`` costs ~7 ms, and the
    command table is built on every run, ``--help`` included.)
    """

    __slots__ = ("name", "summary", "usage", "flags", "handler", "min_args", "max_args",
                 "replaces")

    def __init__(
        self,
        name: str,
        summary: str,
        usage: str,
        flags: Tuple[Flag, ...],
        handler: Callable[[Dict[str, Any], List[str]], int],
        min_args: int = 0,
        max_args: int = 0,
        replaces: str = "",
    ) -> None:
        self.name = name
        self.summary = summary
        self.usage = usage
        self.flags = flags
        self.handler = handler
        self.min_args = min_args
        self.max_args = max_args
        self.replaces = replaces

    def __repr__(self) -> str:
        return "Command(%r)" % self.name


def out(text: str) -> None:
    """Write to stdout; a closed or failing stdout is a Failure, not a traceback."""
    stream = sys.stdout
    if stream is None:
        raise Failure("stdout is closed; there is nowhere to write the output")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        silence_stdout()
        raise Failure("cannot write to stdout (%s)" % (exc.strerror or exc)) from None


def silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush of stdout cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def err(text: str) -> None:
    """Write to stderr if there is one (``2>&-`` leaves none)."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError):
            sys.stderr.write(text)
            sys.stderr.flush()
