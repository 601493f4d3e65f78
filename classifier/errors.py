"""Exception types: every failure a user can hit has its own type and an actionable message.

Errors about what the caller passed in (inputs, training data, corpora, codebooks) are also ``ValueError``s, as
scikit-learn raises for bad input, so ``except ValueError`` around ``fit``/``predict`` catches them too; errors
about the environment (a model folder, an encoder) are ``PolicytagError`` only.
"""
from __future__ import annotations

_ESCAPES = {**{c: f"\\x{c:02x}" for c in (*range(32), 127, *range(0x80, 0xA0))},
            ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def utf8_safe(text: str) -> str:
    """``text`` with each unpaired surrogate written as ``\\udXXX``: the one rule for text that came from a JSON
    escape (``"\\ud800"``) or an undecodable file name, so whatever holds it stays valid UTF-8 and reads back equal."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def printable(path: str) -> str:
    """A path (or id) fit for a one-line message: control characters, line separators and unpaired surrogates
    are escaped (``\\n``, ``\\x1b``, ``\\udcff``), so a file name cannot split its line or forge another one.
    Escaping is idempotent (backslashes are left alone), so an already printable location passes unchanged."""
    return utf8_safe(path).translate(_ESCAPES)


class PolicytagError(Exception):
    """Base class for all errors raised by policytag."""


class ConfigError(PolicytagError):
    """A settings file (``policytag.toml``) cannot be read or names a setting a command does not have."""


class CodebookError(PolicytagError, ValueError):
    """A codebook file is missing, malformed or inconsistent."""


class InputError(PolicytagError, ValueError):
    """One input (file, line or record) cannot be read or tagged.

    ``location`` is ``PATH`` or ``PATH:LINE`` so the CLI can print one line per failure.
    """

    def __init__(self, location: str, message: str, skipped: bool = False):
        location = printable(location)
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message
        self.skipped = skipped  # nothing to tag (empty, no paragraphs) rather than a failure to read


class ModelError(PolicytagError):
    """A saved model cannot be used: missing files, checksum or version mismatch."""


class CorpusError(PolicytagError, ValueError):
    """A labeled corpus violates its schema or its codebook."""


class TrainingDataError(PolicytagError, ValueError):
    """Training data cannot produce a sound model (unknown labels, empty texts, too few positives)."""


class EncoderError(PolicytagError):
    """The sentence encoder cannot be found or loaded."""
