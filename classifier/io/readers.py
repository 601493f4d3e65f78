"""Reading inputs: files, folders, globs, stdin and JSONL/CSV rows into documents, one error per bad input."""
from __future__ import annotations

import codecs
import csv
import errno
import glob
import hashlib
import io
import json
import os
import re
import stat
import sys
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from classifier.errors import InputError, printable, utf8_safe
from classifier.io.formats import UNREAD_DOCUMENTS, input_kind, is_input, named_inputs
from classifier.io.meta import DEFAULT_META_FIELDS, MetaFields, column_meta, merge_meta, text_meta

DEFAULT_MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class Document:
    """One article to tag. ``source`` is where errors point (``PATH`` or ``PATH:LINE``)."""

    id: str
    text: str
    fmt: str = "text"
    source: str = ""
    note: str | None = None  # e.g. the fallback encoding used to decode it
    meta: dict[str, str] | None = None  # title, date, outlet, author, url: those known (see classifier.io.meta)

    @property
    def sha(self) -> str:
        return text_sha(self.text)


def text_sha(text: str) -> str:
    """A text's ``doc_sha``: what ``--resume`` matches documents by, so every path that writes records uses this."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class ReadOptions:
    text_field: str = "text"
    id_field: str = "id"
    max_bytes: int = DEFAULT_MAX_BYTES
    stdin_format: str | None = None  # text, markdown, html or jsonl; None: html when it looks like markup, else text
    meta_fields: MetaFields = DEFAULT_META_FIELDS  # (key, feed column); also which keys files' own metadata gives


Item = Document | InputError


_CONTROL_BYTES = bytes(sorted(frozenset(range(32)) - {9, 10, 12, 13, 27}))


def _looks_binary(head: bytes) -> bool:
    """Binary formats are dense in NUL and control bytes; text with a stray control character is not."""
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return head.count(0) > max(1, len(head) // 100) or controls > len(head) // 10


_BOMS = ((b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))  # UTF-32 first: its little-endian mark begins with UTF-16's


def decode(data: bytes, location: str) -> tuple[str, str | None]:
    """Bytes to text: BOMs honoured, UTF-8 first, then cp1252 and latin-1 (reported in the note).

    UTF-32 marks are checked before UTF-16 ones: the UTF-32-LE mark starts with the UTF-16-LE one (so UTF-16
    text that starts with U+0000 is tried as UTF-16 when it is not UTF-32). Text after a UTF-8 mark that is not
    UTF-8 falls back like text without one, with the same note."""
    codecs = [codec for bom, codec in _BOMS if data.startswith(bom)]
    for codec in codecs:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            continue
    if codecs:
        raise InputError(location, f"has a {codecs[0].upper()} byte-order mark but is not valid {codecs[0].upper()}")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if _looks_binary(data[:8192]):
        raise InputError(location, "binary file, not text (too many NUL or control bytes)")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        bad = exc.start
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding), f"not valid UTF-8 (byte {bad}); decoded as {encoding}"
        except UnicodeDecodeError:
            continue
    raise InputError(location, "not valid UTF-8 and not a known 8-bit encoding")  # pragma: no cover


def expand(inputs: Sequence[str], exclude: Set[tuple[int, int]] = frozenset()) -> Iterator[Path | str | InputError]:
    """Paths to read, in a stable order; ``-`` stays as stdin. Unmatched or empty inputs become errors.
    Files in ``exclude`` ((device, inode) pairs: the run's own outputs) are never read: passed over inside a
    folder or a pattern, said so in one line when named."""
    for raw in inputs:
        if raw == "-":
            yield "-"
            continue
        if any(ch in raw for ch in "*?[") and not os.path.lexists(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                yield InputError(raw, "no files match this pattern")
            for m in matches:
                if not _excluded(Path(m), exclude):
                    yield from _expand_path(Path(m), exclude)
            continue
        if _excluded(Path(raw), exclude):
            yield InputError(raw, "is an output of this run (-o, --summary or --html), not read as input",
                             skipped=True)
            continue
        yield from _expand_path(Path(raw), exclude)


def _excluded(path: Path, exclude: Set[tuple[int, int]]) -> bool:
    """Whether ``path`` is (or links to) one of the ``exclude`` files: compared by device and inode."""
    if not exclude:
        return False
    try:
        st = path.stat()
    except OSError:
        return False
    return (st.st_dev, st.st_ino) in exclude


def link_problem(path: Path) -> InputError | None:
    """A clear error for a symbolic link that leads nowhere (broken) or back to itself (loop)."""
    if not path.is_symlink() or path.exists():
        return None
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return InputError(str(path), "symbolic link loop")
    return InputError(str(path), f"broken symbolic link (points to {os.readlink(path)})")


def special_file(path: Path) -> InputError | None:
    """A skip line for a pipe, device or socket: reading one can block forever or never end."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return InputError(str(path), "not a regular file (a pipe, device or socket), skipped", skipped=True)


def _expand_path(path: Path, exclude: Set[tuple[int, int]] = frozenset()) -> Iterator[Path | InputError]:
    problem = link_problem(path) or special_file(path)
    if problem is not None:
        yield problem
        return
    if not path.exists():
        yield InputError(str(path), "no such file or directory")
        return
    if path.is_dir():
        found = False
        unreadable: list[OSError] = []
        for root, dirs, files in os.walk(path, onerror=unreadable.append):  # no directory links, so no loops
            while unreadable:
                found = True
                yield _folder_error(unreadable.pop(0), path)
            dirs.sort()
            for name in dirs:  # os.walk lists a link to a folder but does not enter it: say so, once
                if (Path(root) / name).is_symlink():
                    yield InputError(str(Path(root) / name), "a link to a folder, not followed (name the folder it "
                                                             "points to, to tag it)", skipped=True)
            for name in sorted(files):
                child = Path(root) / name
                if _excluded(child, exclude):
                    continue
                if is_input(child):
                    found = True
                    yield special_file(child) or child
                elif child.suffix.lower() in UNREAD_DOCUMENTS:
                    found = True
                    yield unread_document(child)
        while unreadable:  # the folder itself (os.walk reports it before the loop would start)
            found = True
            yield _folder_error(unreadable.pop(0), path)
        if not found:
            yield InputError(str(path), f"directory has no {named_inputs('or')} files to tag", skipped=True)
        return
    yield unread_document(path) if path.suffix.lower() in UNREAD_DOCUMENTS else path


def _folder_error(exc: OSError, top: Path) -> InputError:
    """A folder os.walk could not list: a failed input, not an empty one."""
    where = exc.filename if exc.filename is not None else top
    reason = "permission denied" if isinstance(exc, PermissionError) else f"cannot read ({exc.strerror or exc})"
    return InputError(str(where), f"folder cannot be listed: {reason}")


def unread_document(path: Path) -> InputError:
    """A document format policytag does not extract text from: skipped with a line that says what to do."""
    return InputError(str(path), f"{path.suffix.lower()} files are not read (policytag reads {named_inputs()}): "
                                 "convert it to text first", skipped=True)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    location = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(location, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit "
                                       "(raise it with --max-bytes)")
        return path.read_bytes()
    except InputError:
        raise
    except PermissionError:
        raise InputError(location, "permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(location, "symbolic link loop") from None
        raise InputError(location, f"cannot read ({exc.strerror or exc})") from None


def _read_stream(stream: IO[bytes], max_bytes: int) -> bytes:
    """All of stdin, or an error once it passes ``max_bytes``: the same limit as files, and memory stays bounded
    on a stream that never ends (``- </dev/zero``)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError("<stdin>", f"input is over the {max_bytes:,}-byte limit (raise it with --max-bytes); "
                                    "not read further")
    return data


def _document(doc_id: str, text: str, fmt: str, location: str, note: str | None,
              meta_fields: MetaFields = (), columns: dict[str, str] | None = None) -> Item:
    """A document, its metadata from feed ``columns`` first, then from its own text (front matter, HTML), or why
    there is nothing to tag. Every document passes here, so here its id, text and metadata get the one surrogate
    rule (records stay valid UTF-8, and --resume reads the same id back) and its source is made printable (a note
    names it on one line)."""
    if not text:
        return InputError(location, "empty file, nothing to tag", skipped=True)
    if not text.strip():
        return InputError(location, "contains only whitespace, nothing to tag", skipped=True)
    meta = merge_meta(columns, text_meta(text, fmt, [k for k, _ in meta_fields]))
    if meta:
        meta = {key: utf8_safe(value) if isinstance(value, str) else value for key, value in meta.items()}
    return Document(utf8_safe(doc_id), utf8_safe(text), fmt, printable(location), note, meta)


def read_file(path: Path, opts: ReadOptions) -> Iterator[Item]:
    """Documents of one file: the whole file for text formats, one per row for JSONL and CSV."""
    kind = input_kind(path)
    problem = link_problem(path)
    if problem is not None:
        yield problem
        return
    try:
        if kind in ROW_READERS:
            yield from ROW_READERS[kind](path, opts)
            return
        data = read_bytes(path, opts.max_bytes)
        text, note = decode(data, str(path))
    except InputError as exc:
        yield exc
        return
    yield _document(str(path), text, kind, str(path), note, opts.meta_fields)


def _record(obj: object, location: str, opts: ReadOptions, fallback_id: str) -> Item:
    if not isinstance(obj, dict):
        return InputError(location, f"expected a JSON object, got {type(obj).__name__}")
    if opts.text_field not in obj:
        return InputError(location, f"no {opts.text_field!r} field (fields: {', '.join(map(str, obj)) or 'none'}; "
                                    "choose one with --text-field)")
    text = obj[opts.text_field]
    if not isinstance(text, str):
        return InputError(location, f"field {opts.text_field!r} is {type(text).__name__}, not a string")
    doc_id = obj.get(opts.id_field)
    doc_id = str(doc_id) if doc_id not in (None, "") else fallback_id
    fmt = "html" if looks_like_html(text) else "text"  # one rule for feed rows and stdin
    columns, notes = column_meta(obj, opts.meta_fields)
    return _document(doc_id, text, fmt, location, "; ".join(notes) or None, opts.meta_fields, columns)


def _bounded_lines(fh: IO[bytes], limit: int, finite: bool) -> Iterator[tuple[bytes, int]]:
    """(line, length) pairs of a byte stream, never holding more than ``limit + 1`` bytes: a longer line comes
    back cut short, with its full length (a file, ``finite``: after the rest of it was read past in pieces), or
    with ``limit + 1`` (a stream that may never end: the caller stops there)."""
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        size = len(raw)
        if finite and size > limit and not raw.endswith(b"\n"):
            while True:
                rest = fh.readline(1 << 20)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
        yield raw, size


def _json_line(raw: bytes, location: str) -> tuple[object, str | None]:
    """One JSONL line parsed, with its decoding note; nesting too deep for the parser is one error like any."""
    line, note = decode(raw, location)
    try:
        return json.loads(line), note
    except json.JSONDecodeError as exc:
        raise InputError(location, f"malformed JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise InputError(location, "JSON nested too deeply to read") from None


def _read_jsonl(path: Path | str, opts: ReadOptions, stream: IO[bytes] | None = None) -> Iterator[Item]:
    """One document per line. A line over ``max_bytes`` is an error and is read past; on a stream (stdin, which
    may never end) it also ends the reading. The first line that needs a fallback encoding gives the file its
    one note, carried by the next document read."""
    name = str(path)
    try:
        fh = stream if stream is not None else open(path, "rb")
    except OSError as exc:
        yield InputError(name, f"cannot read ({exc.strerror or exc})")
        return
    with fh:
        view, codec = _utf8_view(fh)
        try:
            yield from _jsonl_items(view, name, opts, stream is not None)
        except UnicodeDecodeError as exc:
            yield InputError(name, f"has a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
                                   f"({exc.reason}); the rest of it is not read")


def _utf8_view(fh: IO[bytes]) -> tuple[IO[bytes], str | None]:
    """``fh`` itself, or, when it starts with a UTF-16 or UTF-32 byte-order mark, a view of it as UTF-8 bytes, so
    its lines split where its text does (the mark is honoured for JSONL as for every other reader)."""
    peek = getattr(fh, "peek", None)
    head = peek(4)[:4] if peek is not None else b""
    codec = next((codec for bom, codec in _BOMS if head.startswith(bom)), None)
    if codec is None:
        return fh, None
    return _Recoded(fh, codec), codec  # type: ignore[return-value]


class _Recoded:
    """UTF-8 lines of a UTF-16/32 byte stream, read in small pieces: ``readline(size)`` holds about ``size``
    bytes at most, like a file's own, and a stream that is not valid in its encoding (also cut short at the
    end) raises UnicodeDecodeError."""

    PIECE = 1 << 16

    def __init__(self, raw: IO[bytes], codec: str):
        self.raw, self.decoder = raw, codecs.getincrementaldecoder(codec)()
        self.buf, self.eof = bytearray(), False

    def readline(self, size: int) -> bytes:
        newline = self.buf.find(b"\n")
        while newline < 0 and len(self.buf) < size and not self.eof:
            piece = self.raw.read(self.PIECE)
            self.eof = not piece
            start = len(self.buf)
            self.buf += self.decoder.decode(piece, final=self.eof).encode("utf-8")
            newline = self.buf.find(b"\n", start)
        end = newline + 1 if 0 <= newline < size else min(size, len(self.buf))
        line = bytes(self.buf[:end])
        del self.buf[:end]
        return line


def _jsonl_items(fh: IO[bytes], name: str, opts: ReadOptions, endless: bool) -> Iterator[Item]:
    """The documents (or errors) of a JSONL byte stream read as UTF-8 lines; see :func:`_read_jsonl`."""
    seen, note, noted = False, None, False
    for n, (raw, size) in enumerate(_bounded_lines(fh, opts.max_bytes, not endless), 1):
        location = f"{name}:{n}"
        if not raw.strip():
            continue
        seen = True
        if size > opts.max_bytes:
            if endless:
                yield InputError(location, f"line is over the {opts.max_bytes:,}-byte limit (raise it with "
                                           f"--max-bytes); the rest of {name} is not read")
                return
            yield InputError(location, f"line is {size:,} bytes, over the {opts.max_bytes:,}-byte limit")
            continue
        try:
            obj, line_note = _json_line(raw, location)
        except InputError as exc:
            yield exc
            continue
        if line_note and not noted:
            note, noted = f"line {n} is {line_note}; later lines of this file that are not UTF-8 are " \
                          "decoded the same way", True
        item = _record(obj, location, opts, f"{name}:{n}")
        if note and isinstance(item, Document):
            item, note = replace(item, note=note), None
        yield item
    if not seen:
        yield InputError(name, "empty file, nothing to tag", skipped=True)


def _read_csv(path: Path, opts: ReadOptions) -> Iterator[Item]:
    """One document per row; the file's decoding note rides on its first document. A quote left open is an
    error at the line that opened it, never rows silently merged into one field."""
    name = str(path)
    text, note = decode(read_bytes(path, opts.max_bytes), name)
    note = note and f"the file is {note}"  # said where its first row is, so it names the file, not that row
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    lines = list(io.StringIO(text, newline=""))
    reader = csv.DictReader(lines, strict=True)
    try:
        fieldnames = reader.fieldnames  # reads the header row, which may be malformed too
    except csv.Error as exc:
        yield InputError(f"{name}:1", _csv_problem(exc))
        return
    if fieldnames is None:
        yield InputError(name, "empty file, nothing to tag", skipped=True)
        return
    if opts.text_field not in reader.fieldnames:
        yield InputError(f"{name}:1", f"no column {opts.text_field!r} (columns: {', '.join(reader.fieldnames)}; "
                                      "choose one with --text-field)")
        return
    start = reader.line_num + 1
    try:
        for row in reader:
            item = _record(row, f"{name}:{reader.line_num}", opts, f"{name}:{reader.line_num}")
            if note and isinstance(item, Document):
                item, note = replace(item, note=note), None
            yield item
            start = reader.line_num + 1
    except csv.Error as exc:
        yield InputError(f"{name}:{start}", _csv_problem(exc))


def csv_quote_problem(text: str) -> tuple[int, str] | None:
    """(line, message) of the first row a strict CSV reader refuses in ``text``, or None: for readers (pandas)
    that would silently merge the rows up to a stray quote into one field."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        return start, _csv_problem(exc)
    return None


def _csv_problem(exc: csv.Error) -> str:
    """What a strict reader's complaint means for the row it stopped in: the lenient reader would have taken
    the rest of the file (a quote left open) or the rows up to the next stray quote (``"x`` ... ``"more``) as
    one field, so that row and everything after it are refused rather than silently merged."""
    if "end of data" in str(exc):
        return "unterminated quote: the quoted field opened on this line runs to the end of the file (close it " \
               "with \"); this row and the lines after it are not read"
    return f"malformed CSV ({exc}: a quoted field must end at a comma or the end of its line); this row and " \
           "the lines after it are not read"


_MARKUP_START = re.compile(r"\A\ufeff?\s*<(!doctype\s+html|html|head|body|[a-z][a-z0-9]*)[\s>/]", re.IGNORECASE)
_CLOSING_TAG = re.compile(r"</[a-z][a-z0-9]*\s*>", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    """Whether piped text is a web page rather than prose: it opens with a doctype, ``<html>``/``<head>``/
    ``<body>``, or with any tag when closing tags follow (tag soup). Plain text that merely mentions ``<b>`` later
    on does not count: only the first non-space characters decide."""
    found = _MARKUP_START.match(text)
    if not found:
        return False
    return found.group(1).lower().startswith(("!doctype", "html", "head", "body")) or bool(
        _CLOSING_TAG.search(text, 0, 65536))


def _stream_excluded(stream: IO[bytes], exclude: Set[tuple[int, int]]) -> bool:
    """Whether stdin is redirected from one of the ``exclude`` files (``tag - -o o.jsonl < o.jsonl``)."""
    if not exclude:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return False
    return (st.st_dev, st.st_ino) in exclude


# row kinds of classifier.io.formats -> the reader of such a feed (one document a row)
ROW_READERS = {"jsonl": _read_jsonl, "csv": _read_csv}


def read_inputs(inputs: Sequence[str], opts: ReadOptions = ReadOptions(), stdin: IO[bytes] | None = None,
                exclude: Set[tuple[int, int]] = frozenset()) -> Iterator[Item]:
    """Every document of every input, lazily; a bad input yields an InputError and reading goes on. ``exclude``:
    (device, inode) pairs of files never to read (the run's outputs; see :func:`expand`)."""
    for target in expand(inputs, exclude):
        if isinstance(target, InputError):
            yield target
        elif target == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            if _stream_excluded(stream, exclude):
                yield InputError("<stdin>", "is an output of this run (-o, --summary or --html), not read as input",
                                 skipped=True)
                continue
            if opts.stdin_format == "jsonl":
                yield from _read_jsonl("<stdin>", opts, stream)
            else:
                try:
                    text, note = decode(_read_stream(stream, opts.max_bytes), "<stdin>")
                except InputError as exc:
                    yield exc
                    continue
                fmt = opts.stdin_format
                if fmt is None:
                    fmt = "html" if looks_like_html(text) else "text"
                    if fmt == "html":
                        note = "; ".join(filter(None, [note, "read as HTML (it starts with markup; pass "
                                                       "--input-format text to read it as plain text)"]))
                yield _document("<stdin>", text, fmt, "<stdin>", note, opts.meta_fields)
        else:
            yield from read_file(target, opts)
