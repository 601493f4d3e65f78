"""Exception types: every failure a user can hit has its own type and an actionable message.

Errors about what the caller passed in (inputs, training data, corpora, codebooks) are also ``ValueError``s, as
scikit-learn raises for bad input, so ``except ValueError`` around ``fit``/``predict`` catches them too; errors
about the environment (a model folder, an encoder) are ``PolicytagError`` only.
"""
from __future__ import annotations


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
