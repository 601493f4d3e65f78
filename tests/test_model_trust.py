"""Trust in model folders and caches (issue #14, cases 14, 17, 18): what is edited, broken or tampered with is
refused with one line (exit 2 from the shell), never a traceback, never served silently."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from classifier import ModelError, load_model
from classifier.cli import main
from classifier.hashing import file_sha256

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = str(ROOT / "examples" / "article.md")


@pytest.fixture()
def folder(mini_model, tmp_path) -> Path:
    return mini_model.save(tmp_path / "m")


def edit_manifest(folder: Path, edit, restamp: bool = False) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    if restamp:
        update_checksums(folder)


def update_checksums(folder: Path) -> None:
    """Do what a careful editor would: update every checksum the manifest holds (the per-file digests and the
    folder's fingerprint, or the head's digest in the older format), so only the content checks remain."""
    from classifier import persist
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    if "sha256" in manifest.get("head", {}):
        manifest["head"]["sha256"] = file_sha256(folder / "head.npz")
    if "files" in manifest:
        manifest["files"] = {f: file_sha256(folder / f) for f in manifest["files"] if (folder / f).exists()}
    if "fingerprint" in manifest:
        manifest["fingerprint"] = persist.manifest_fingerprint(manifest)
    path.write_text(json.dumps(manifest))


def tag_with(folder: Path, tmp_path: Path, capsys) -> tuple[int, list[str]]:
    code = main(["tag", ARTICLE, "--model", str(folder), "-o", str(tmp_path / "out.jsonl"), "--force"])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def assert_refused(folder: Path, tmp_path: Path, capsys, *words: str) -> str:
    """Exit 2 and one line that names the folder and what is wrong."""
    code, lines = tag_with(folder, tmp_path, capsys)
    assert code == 2, lines
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert str(folder) in lines[0] and all(w in lines[0] for w in words), lines[0]
    return lines[0]


# -- case 14: a manifest missing a required key, a garbage head with its checksums updated -----------------
@pytest.mark.parametrize("key", ["thresholds", "selected", "training", "libraries", "encoder"])
def test_a_manifest_missing_a_required_key_is_one_line_and_exit_2(folder, tmp_path, capsys, key):
    edit_manifest(folder, lambda m: m.pop(key), restamp=True)
    assert_refused(folder, tmp_path, capsys, f"'{key}' is missing")


@pytest.mark.parametrize("arrays, words", [
    ({"coef": np.zeros((2, 2)), "intercept": np.zeros(2)}, "head does not fit"),
    ({"coef": np.full((3, 384), np.nan), "intercept": np.zeros(3)}, "finite"),
])
def test_a_garbage_head_with_its_checksums_updated_is_one_line_and_exit_2(folder, tmp_path, capsys, arrays,
                                                                           words):
    from classifier.persist import write_arrays
    write_arrays(folder / "head.npz", arrays)
    edit_manifest(folder, lambda m: m["head"].update(arrays=sorted(arrays)), restamp=True)
    assert_refused(folder, tmp_path, capsys, words)


@pytest.mark.parametrize("keys", [np.arange(3, dtype=np.float64), np.array([5, 2], dtype=np.uint64),
                                  np.arange(10_000, dtype=np.uint64)])
def test_training_keys_that_are_not_sorted_distinct_uint64_or_outnumber_the_rows_are_refused(folder, tmp_path,
                                                                                             capsys, keys):
    from classifier.persist import TRAINING_KEYS, read_arrays, write_arrays
    arrays = {**read_arrays(folder / "head.npz"), TRAINING_KEYS: keys}
    write_arrays(folder / "head.npz", arrays)
    edit_manifest(folder, lambda m: m["head"].update(arrays=sorted(arrays)), restamp=True)
    assert_refused(folder, tmp_path, capsys, "training_keys must be at most")


def test_a_head_that_is_not_a_zip_is_one_line_and_exit_2(folder, tmp_path, capsys):
    (folder / "head.npz").write_bytes(b"garbage" * 100)
    update_checksums(folder)
    assert_refused(folder, tmp_path, capsys, "not a readable head file")


# -- case 17: a schema for the manifest and a fingerprint over the folder -----------------------------------
@pytest.mark.parametrize("edit, words", [
    (lambda m: m["thresholds"].update({t: 0 for t in m["thresholds"]}), "must be a number in (0, 1)"),
    (lambda m: m["thresholds"].update({t: 1.5 for t in m["thresholds"]}), "must be a number in (0, 1)"),
    (lambda m: m["thresholds"].pop(next(iter(m["thresholds"]))), "each theme of the codebook"),
    (lambda m: m["libraries"].pop("scikit-learn"), "'libraries.scikit-learn' is missing"),
    (lambda m: m["encoder"].update(dimension="384"), "'encoder.dimension' must be a positive integer"),
    (lambda m: m["encoder"].update(path="../../elsewhere"), "relative path inside the model folder"),
    (lambda m: m["selected"].update(lexical=2.0), "'selected.lexical' must be a weight"),
    (lambda m: m.update(codebook={"themes": "x"}), "codebook"),
    (lambda m: m.update(multi_label=not m["multi_label"]), "'multi_label' must agree with the codebook"),
    (lambda m: m.update(format_version=True), "format"),
])
def test_manifest_values_are_checked_against_the_schema(folder, tmp_path, capsys, edit, words):
    """Checked even when the editor updated every checksum: thresholds of 0 load silently no more, and a
    deleted ``libraries`` block no longer skips the version check."""
    edit_manifest(folder, edit, restamp=True)
    assert_refused(folder, tmp_path, capsys, words)
    with pytest.raises(ModelError, match="manifest.json"):
        load_model(folder)


def test_an_edit_that_keeps_the_schema_is_caught_by_the_fingerprint(folder, tmp_path, capsys):
    edit_manifest(folder, lambda m: m["thresholds"].update({t: 0.3 for t in m["thresholds"]}))
    line = assert_refused(folder, tmp_path, capsys, "manifest.json was edited after saving", "policytag train")
    assert "--force" in line


def test_a_file_added_to_or_removed_from_the_folder_is_caught(folder, tmp_path, capsys):
    (folder / "notes.txt").write_text("an extra file")
    assert_refused(folder, tmp_path, capsys, "notes.txt was added after saving")
    (folder / "notes.txt").unlink()
    load_model(folder)  # back as saved: loads again
    (folder / "head.npz").unlink()
    assert_refused(folder, tmp_path, capsys, "head.npz is missing")


def test_parameters_this_version_does_not_take_are_refused(folder):
    edit_manifest(folder, lambda m: m["params"].update(surprise=1), restamp=True)
    with pytest.raises(ModelError, match="'params' names surprise"):
        load_model(folder)


def test_a_file_of_the_folder_that_cannot_be_read_is_one_line(folder, tmp_path, capsys):
    (folder / "head.npz").unlink()
    (folder / "head.npz").symlink_to(tmp_path / "nowhere.npz")
    assert_refused(folder, tmp_path, capsys, "head.npz is missing")
    (folder / "head.npz").unlink()
    (folder / "head.npz").mkdir()
    assert_refused(folder, tmp_path, capsys, "head.npz")


def test_the_model_card_and_hidden_files_are_outside_the_fingerprint(folder):
    """A hub clone adds .git and .gitattributes, and people edit model cards: neither is read to score."""
    (folder / "README.md").write_text("# my edits\n")
    (folder / ".gitattributes").write_text("*.npz filter=lfs\n")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    load_model(folder)


def test_a_folder_saved_before_fingerprints_still_loads_with_its_head_checked(folder, mini_model, tmp_path, capsys):
    """Format 2 (no fingerprint; the head's sha256 in the manifest) keeps loading, with every other check."""
    def as_format_2(m):
        m.update(format_version=2)
        m["head"]["sha256"] = m.pop("files")["head.npz"]
        del m["fingerprint"]

    edit_manifest(folder, as_format_2)
    np.testing.assert_array_equal(load_model(folder).predict_proba(TEXTS), mini_model.predict_proba(TEXTS))
    edit_manifest(folder, lambda m: m["thresholds"].update({t: 0 for t in m["thresholds"]}))
    assert_refused(folder, tmp_path, capsys, "must be a number in (0, 1)")
    edit_manifest(folder, lambda m: m["thresholds"].update({t: 0.5 for t in m["thresholds"]}))
    data = bytearray((folder / "head.npz").read_bytes())
    data[-20] ^= 0xFF
    (folder / "head.npz").write_bytes(bytes(data))
    assert_refused(folder, tmp_path, capsys, "checksum mismatch")


def test_saving_writes_a_fingerprint_that_loading_checks(folder, mini_model):
    from classifier.persist import manifest_fingerprint
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == 3 and manifest["files"] == {"head.npz": file_sha256(folder / "head.npz")}
    assert manifest["fingerprint"] == manifest_fingerprint(manifest)
    again = mini_model.save(folder.parent / "again")
    assert (again / "manifest.json").read_bytes() == (folder / "manifest.json").read_bytes()  # deterministic


def test_saving_refuses_a_model_whose_manifest_would_not_load(mini_model, tmp_path):
    from sklearn.base import clone
    model = clone(mini_model).set_params(threshold=0.0)
    model.__dict__.update({k: v for k, v in mini_model.__dict__.items() if k.endswith("_")})
    model.thresholds_ = np.zeros(len(model.classes_))
    with pytest.raises(ModelError, match=r"must be a number in \(0, 1\)"):
        model.save(tmp_path / "zero")


@pytest.mark.parametrize("name", ["geopolitics", "geopolitics-mpnet"])
def test_the_shipped_models_carry_a_fingerprint_that_verifies(name):
    from classifier.persist import read_folder
    manifest, arrays = read_folder(ROOT / "models" / name)
    assert manifest["format_version"] == 3 and set(manifest["files"]) == {"head.npz"}
    assert "sha256" not in manifest["head"]


def test_policytag_train_writes_the_fingerprint(tmp_path, capsys):
    out = tmp_path / "trained"
    code = main(["train", "--data", str(ROOT / "tests" / "data" / "mini.csv"), "--label-column", "label",
                 "--single-label", "--group-column", "doc", "--out", str(out), "--embedding-head", "linear", "--C",
                 "16", "--context", "off",
                 "--class-weight", "none"])
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["fingerprint"]) == 64
    load_model(out)
    shutil.copy(out / "head.npz", out / "head-copy.npz")
    with pytest.raises(ModelError, match="head-copy.npz was added"):
        load_model(out)


# -- case 18: the embedding cache, and links to folders among the inputs ------------------------------------
def _cache_rows(cache_dir: Path) -> tuple[sqlite3.Connection, list]:
    db = sqlite3.connect(cache_dir / "embeddings.sqlite", isolation_level=None)
    return db, db.execute("SELECT fp, key, vec, crc FROM emb ORDER BY key").fetchall()


TEXTS = ["Allies argued over who pays for the brigade.", "The navy escorted grain ships through the strait."]


def test_a_cache_entry_swapped_with_a_matching_checksum_is_refused_and_re_encoded(tmp_path, caplog):
    """Copy one text's vector (and its checksum) onto another text's entry: a checksum over the bytes alone
    cannot tell, one bound to the entry's key can."""
    from classifier.encoding.encoder import make_encoder
    cache_dir = tmp_path / "cache"
    fresh = make_encoder(None, 64, str(cache_dir)).encode(TEXTS)
    db, rows = _cache_rows(cache_dir)
    assert len(rows) == 2
    (_, _, vec_a, crc_a), (fp, key_b, _, _) = rows
    db.execute("UPDATE emb SET vec=?, crc=? WHERE key=?", (vec_a, crc_a, key_b))
    db.close()
    again = make_encoder(None, 64, str(cache_dir))
    with caplog.at_level("WARNING", logger="classifier"):
        served = again.encode(TEXTS)
    np.testing.assert_allclose(served, fresh, atol=1e-6)  # each text gets its own vector back
    assert again.cache.refused == 1
    assert [r.getMessage() for r in caplog.records] == [
        f"{cache_dir / 'embeddings.sqlite'}: 1 cached embedding(s) failed their checksum and are encoded afresh"]


def test_a_cache_entry_of_the_wrong_length_with_its_checksum_redone_is_named_and_re_encoded(tmp_path, capsys):
    """Someone who rewrites the checksum too gets past the cache's check, but not the encoder's cheap ones
    (length, finite values, unit norm); either way a refused entry is one line on stderr."""
    from classifier.encoding.cache import entry_checksum
    cache_dir = tmp_path / "cache"
    out = tmp_path / "out.jsonl"
    assert main(["tag", ARTICLE, "-o", str(out), "--cache-dir", str(cache_dir)]) == 0
    first = out.read_bytes()
    capsys.readouterr()
    db, rows = _cache_rows(cache_dir)
    fp, key, blob, _ = rows[0]
    short = blob[:-4]
    db.execute("UPDATE emb SET vec=?, crc=? WHERE key=?", (short, entry_checksum(fp, key, short), key))
    db.close()
    assert main(["tag", ARTICLE, "-o", str(out), "--cache-dir", str(cache_dir), "--force"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "cached embedding" in line]
    assert lines == ["policytag: 1 cached embedding(s) are not unit vectors of length 384 and are encoded afresh"]
    assert out.read_bytes() == first


def test_a_linked_sub_folder_of_an_input_folder_is_named_in_one_line(tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(ARTICLE, inputs / "a.md")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ARTICLE, elsewhere / "b.md")
    (inputs / "linked").symlink_to(elsewhere, target_is_directory=True)
    code = main(["tag", str(inputs), "-o", str(tmp_path / "out.jsonl")])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = [line for line in err.splitlines() if "linked" in line]
    assert len(lines) == 1 and "not followed" in lines[0], err
    docs = {json.loads(line)["doc"] for line in (tmp_path / "out.jsonl").read_text().splitlines()}
    assert len(docs) == 1


def test_evaluation_reports_name_the_head_and_the_fingerprint(folder):
    from classifier.harness.harness import model_identity
    manifest = json.loads((folder / "manifest.json").read_text())
    identity = model_identity(load_model(folder), str(folder))
    assert identity["head_sha256"] == file_sha256(folder / "head.npz") and identity["fingerprint"] == \
        manifest["fingerprint"]
