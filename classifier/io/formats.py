"""Every file format policytag reads or writes, in one table: what a suffix means, and the names the CLI offers.

Adding an input format is a line in :data:`INPUTS` plus its reader (a row reader in :mod:`classifier.io.readers`
for a feed of documents, or a segmenter in :mod:`classifier.io.segment` for a kind of text); the CLI's choices,
its help texts and the folder walk follow from here. Nothing here imports more than the standard library.
"""
from __future__ import annotations

from pathlib import Path

# -- inputs: suffix -> kind. Text kinds are one document a file (the kind says how it is segmented); row kinds
# are a feed, one document a row (``--text-field``/``--id-field``). The first suffix of a kind is its name in help.
TEXT_KINDS = ("text", "markdown", "html")
ROW_KINDS = ("jsonl", "csv")
INPUTS: dict[str, str] = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
                          ".html": "html", ".htm": "html", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
TEXT_SUFFIXES = {s: k for s, k in INPUTS.items() if k in TEXT_KINDS}
RECORD_SUFFIXES = {s for s, k in INPUTS.items() if k in ROW_KINDS}
STDIN_FORMATS = (*TEXT_KINDS, "jsonl")  # --input-format: how to read stdin, which has no suffix
UNREAD_DOCUMENTS = {".pdf", ".doc", ".docx", ".odt", ".rtf", ".epub", ".pages"}  # said so, not silently passed over

# -- labeled tables (train, evaluate, annotate's pool): suffix -> kind; ``.json`` is read as JSON Lines too, but
# is not offered for a pool, where a ``.json`` file is a Label Studio export
TABLES: dict[str, str] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
                          ".parquet": "parquet", ".pq": "parquet"}
POOL_TABLE_SUFFIXES = {s for s in TABLES if s != ".json"}

# -- outputs of ``tag``: format -> the suffix that picks it when --format is not given (pretty: never by suffix)
OUTPUTS: dict[str, str | None] = {"jsonl": ".jsonl", "csv": ".csv", "pretty": None}
DEFAULT_OUTPUT = "jsonl"
# -- the per-document summary (--summary): suffix -> table kind; any other suffix is written as JSON Lines
SUMMARIES: dict[str, str] = {".md": "md", ".csv": "csv"}

# -- annotation tools: suffix -> tool (import: the export's suffix names the tool; export: doccano unless .json)
ANNOTATION_TOOLS = ("label-studio", "doccano")
ANNOTATION_SUFFIXES = {".json": "label-studio", ".jsonl": "doccano", ".ndjson": "doccano"}
DEFAULT_EXPORT_TOOL = "doccano"


def suffix(path: str | Path) -> str:
    """An input file's suffix as :data:`INPUTS` keys it: lower case, with the dot (none for ``.md`` alone)."""
    return Path(path).suffix.lower()


def _ending(path: str | Path, table: dict[str, str]) -> str | None:
    """The value of the table's suffix that an output path's name ends with (``x.CSV``, or ``.csv`` alone)."""
    name = str(path).lower()
    return next((value for end, value in table.items() if name.endswith(end)), None)


def input_kind(path: str | Path) -> str:
    """How an input file is read: its kind by suffix, plain text for a suffix not listed (a named file is read)."""
    return INPUTS.get(suffix(path), "text")


def is_input(path: str | Path) -> bool:
    """Whether a file found in a folder is one policytag tags."""
    return suffix(path) in INPUTS


def named_inputs(last: str = "and") -> str:
    """The input formats for a help text or message: ``.txt, .md, .html, .jsonl and .csv`` (each kind once)."""
    names = list(dict.fromkeys(next(s for s, k in INPUTS.items() if k == kind) for kind in INPUTS.values()))
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


def output_format(path: str | None, fmt: str | None) -> str:
    """The output format: ``--format`` when given, else by the output file's suffix, else JSON Lines."""
    if fmt:
        return fmt
    return (_ending(path, {s: f for f, s in OUTPUTS.items() if s is not None}) if path else None) or DEFAULT_OUTPUT


def summary_format(path: str | Path) -> str:
    """How a summary file is written: a Markdown or CSV table by its suffix, else JSON Lines."""
    return SUMMARIES.get(suffix(path), "jsonl")


def annotation_tool(path: str | Path) -> str | None:
    """The annotation tool a file's suffix names (``.json`` Label Studio, ``.jsonl`` doccano), or None."""
    return _ending(path, ANNOTATION_SUFFIXES)
