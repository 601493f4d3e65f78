"""The label scheme: which themes exist, what they mean, and whether a unit may carry several."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from classifier.errors import CodebookError, printable
from classifier.shipped import shipped_path

DEFAULT_CODEBOOK = shipped_path("corpora", "geopolitics", "codebook.yaml")


@dataclass(frozen=True)
class Theme:
    """One label of a codebook; the description doubles as the zero-shot prototype."""

    id: str
    name: str
    description: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Codebook:
    """A validated label scheme. Theme order is the column order of every score matrix."""

    name: str
    version: str
    multi_label: bool
    themes: tuple[Theme, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.themes:
            raise CodebookError(f"codebook {self.name!r}: it defines no themes")
        seen: set[str] = set()
        for theme in self.themes:
            if not theme.id or not theme.id.strip():
                raise CodebookError(f"codebook {self.name!r}: a theme has an empty id")
            if theme.id in seen:
                raise CodebookError(f"codebook {self.name!r}: theme id {theme.id!r} is defined twice")
            if not theme.description or not theme.description.strip():
                raise CodebookError(f"codebook {self.name!r}: theme {theme.id!r} has an empty description")
            seen.add(theme.id)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def __len__(self) -> int:
        return len(self.themes)

    def __getitem__(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def unknown(self, labels: Iterable[str]) -> list[str]:
        """Labels not defined in this codebook, in first-seen order."""
        known = set(self.ids)
        return list(dict.fromkeys(lab for lab in labels if lab not in known))

    def single_label_if(self, single: bool) -> Codebook:
        """This codebook read as single-label when ``single`` (``--single-label``: one theme per row, a multinomial
        head), else unchanged. A single-label codebook stays single-label: the flag only ever narrows. The one
        place the override lives (train, evaluate and the harness's system choice all call it)."""
        if not single or not self.multi_label:
            return self
        return replace(self, multi_label=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["themes"] = [{**asdict(t), "examples": list(t.examples)} for t in self.themes]
        return data

    @property
    def fingerprint(self) -> str:
        """Hash of ids, order and label mode: two codebooks with equal fingerprints align column by column."""
        key = json.dumps({"ids": self.ids, "multi_label": self.multi_label})
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> Codebook:
        if not isinstance(data, dict):
            raise CodebookError(f"{source}: a codebook must be a mapping with 'name' and 'themes'")
        raw_themes = data.get("themes")
        if not isinstance(raw_themes, list):
            raise CodebookError(f"{source}: 'themes' must be a list of mappings with id, name, description")
        themes = []
        for i, raw in enumerate(raw_themes):
            if not isinstance(raw, dict) or "id" not in raw:
                raise CodebookError(f"{source}: theme #{i + 1} must be a mapping with at least an 'id'")
            examples = raw.get("examples") or ()
            if not isinstance(examples, (list, tuple)):
                raise CodebookError(f"{source}: theme #{i + 1}: 'examples' must be a list of sentences")
            themes.append(Theme(id=str(raw["id"]), name=str(raw.get("name") or raw["id"]),
                                description=str(raw.get("description") or "").strip(),
                                examples=tuple(str(e) for e in examples)))
        multi = data.get("multi_label", True)
        if not isinstance(multi, bool):
            raise CodebookError(f"{source}: 'multi_label' must be true or false, not {multi!r}")
        try:
            return cls(name=str(data.get("name") or Path(source).stem), version=str(data.get("version", "1")),
                       multi_label=multi, themes=tuple(themes))
        except CodebookError as exc:
            raise CodebookError(f"{source}: {exc}") from None

    @classmethod
    def from_labels(cls, labels: Iterable[str], multi_label: bool = True, name: str = "inferred") -> Codebook:
        """A codebook inferred from the labels of a data set, for data that comes without one."""
        ids = sorted(set(labels))
        return cls(name=name, version="inferred", multi_label=multi_label,
                   themes=tuple(Theme(id=i, name=i, description=i.replace("_", " ")) for i in ids))


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Load and validate a YAML (or JSON) codebook; the default is the geopolitics codebook."""
    import yaml

    path = Path(path) if path is not None else DEFAULT_CODEBOOK
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodebookError(f"{printable(str(path))}: cannot read codebook ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise CodebookError(f"{printable(str(path))}: not UTF-8 (byte {exc.start}); save the codebook as UTF-8") \
            from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{printable(str(path))}:{mark.line + 1}" if mark else printable(str(path))
        reason = " ".join(str(getattr(exc, "problem", None) or exc).split())  # YAML's own messages span lines
        raise CodebookError(f"{where}: invalid YAML ({reason})") from None
    except RecursionError:
        raise CodebookError(f"{printable(str(path))}: nested too deeply to be a codebook") from None
    return Codebook.from_dict(data, source=printable(str(path)))


def resolve_codebook(spec: Codebook | str | Path | None) -> Codebook | None:
    """A ``codebook`` parameter (object, YAML path, or None for "infer from the labels") as a Codebook or None:
    the one place that rule lives."""
    return load_codebook(spec) if isinstance(spec, (str, Path)) else spec
