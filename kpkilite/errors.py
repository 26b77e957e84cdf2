"""The whole kpkilite exception tree.

::

    KpkiliteError(Exception)
    ├── InputError(KpkiliteError, ValueError)     bad input text or document
    │   ├── CSRSpecError        SigningConfigError     PEMError
    │   ├── ScheduleError       SelectorError          LabelError
    ├── SigningError(KpkiliteError)               CA key/cert mismatch, not a CA, expired CA
    ├── FileError(KpkiliteError, OSError)         missing file, refusing to overwrite a CA key
    └── BackendError(KpkiliteError, RuntimeError) libcrypto/oscrypto unusable

Input errors point at the input. Document errors carry a JSON-ish ``path``
(``names[0].C``) at the start of the message. One-line grammars (cron
schedules, label selectors) carry the ``text`` and the ``span`` of the bad part;
``str()`` then shows the text with a caret under that part:

>>> err = ScheduleError("minute: 61 is out of range 0-59", text="61 * * * *", span=(0, 2))
>>> print(err)
minute: 61 is out of range 0-59
    61 * * * *
    ^^
>>> err.message
'minute: 61 is out of range 0-59'
>>> isinstance(err, ValueError)
True
>>> print(SelectorError("bad character", text="a=\\x00b", span=(2, 3)))
bad character
    a=\u2400b
      ^
"""

from __future__ import annotations

# typing only for the type checker: importing it costs ~2 ms, and every kpkilite
# import (the stdlib-only cron and labels modules included) goes through this module.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Tuple

__all__ = [
    "BackendError",
    "CSRSpecError",
    "FileError",
    "InputError",
    "KpkiliteError",
    "KpkiliteWarning",
    "LabelError",
    "PEMError",
    "ScheduleError",
    "SelectorError",
    "SigningConfigError",
    "SigningError",
]


class KpkiliteError(Exception):
    """Base class of every error kpkilite raises on purpose."""


class InputError(KpkiliteError, ValueError):
    """Bad input text or document.

    Args:
        message: one line that names the field or the place in the text.
        text: the one-line input the message is about (optional).
        span: ``(start, end)`` character offsets of the bad part of ``text``.
    """

    def __init__(
        self,
        message: str,
        *,
        text: Optional[str] = None,
        span: Optional[Tuple[int, int]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.span = span

    def __str__(self) -> str:
        if self.text is None or self.span is None or "\n" in self.text:
            return self.message
        start, end = self.span
        start = max(0, min(start, len(self.text)))
        width = max(1, end - start)
        caret = " " * start + "^" * width
        return "%s\n    %s\n    %s" % (self.message, _visible(self.text), caret)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), self.message, self.text, self.span))


def _visible(text: str) -> str:
    """The text with each control character shown as one visible character.

    A tab becomes a space and other C0 controls and DEL their Unicode control
    pictures (NUL -> U+2400), so the caret line below stays aligned.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\t\r\n":
            out.append(" ")
        elif code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        else:
            out.append(ch)
    return "".join(out)


def _rebuild(
    cls: type, message: str, text: Optional[str], span: Optional[Tuple[int, int]]
) -> InputError:
    err: InputError = cls(message, text=text, span=span)
    return err


class CSRSpecError(InputError):
    """A cfssl CSR spec (``CN``, ``hosts``, ``key``, ``names``, ``ca``) is invalid."""


class SigningConfigError(InputError):
    """A cfssl signing config, profile, usage or expiry is invalid."""


class PEMError(InputError):
    """PEM or DER input is not the certificate, CSR or key that was expected."""


class ScheduleError(InputError):
    """A CronJob schedule or time zone is invalid."""


class SelectorError(InputError):
    """A label selector (string or structured) is invalid."""


class LabelError(InputError):
    """A label key or value breaks the Kubernetes label rules."""


class SigningError(KpkiliteError):
    """Signing is refused: CA key/cert mismatch, not a CA, expired CA, path length."""


class FileError(KpkiliteError, OSError):
    """A file is missing, unreadable, or would be unsafely overwritten."""


class BackendError(KpkiliteError, RuntimeError):
    """The crypto backend (oscrypto over libcrypto) cannot be used."""


class KpkiliteWarning(UserWarning):
    """Something was accepted but changed or is likely a mistake (a typo'd key, a cut expiry).

    The library reports these through :mod:`warnings`; the CLI prints each as one
    ``kpkilite: warning: ...`` line on stderr.
    """
