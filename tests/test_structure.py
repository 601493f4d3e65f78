"""The house rules that the import structure must keep: no cycle among the package's modules (lazy imports
inside functions included), nothing in ``classifier`` importing the repository's ``evaluation`` studies, and
``policytag --help`` / a fully cached run staying free of heavy imports."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    return {".".join(f.relative_to(ROOT).with_suffix("").parts): f for f in (ROOT / "classifier").rglob("*.py")
            if "_shipped" not in f.parts}


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_no_import_cycle_among_package_modules():
    mods = _modules()
    edges = {m: {t for t in _imports(f) if t in mods and t != m and not t.endswith("__init__")}
             for m, f in mods.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(u: str, path: list[str]) -> None:
        state[u] = 1
        for v in sorted(edges[u]):
            if state.get(v) == 1:
                cycles.append(path[path.index(v):] + [v])
            elif v not in state:
                visit(v, path + [v])
        state[u] = 2

    for m in sorted(mods):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_library_never_imports_the_evaluation_studies():
    offenders = [m for m, f in _modules().items() if any(t == "evaluation" or t.startswith("evaluation.")
                                                          for t in _imports(f))]
    assert not offenders


def test_help_imports_neither_numpy_nor_torch():
    code = ("import sys, contextlib, io\nfrom classifier.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "heavy = [m for m in ('numpy', 'torch', 'sklearn', 'sentence_transformers') if m in sys.modules]\n"
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_a_fully_cached_tag_run_imports_neither_torch_nor_sklearn(tmp_path):
    """The saved head is arrays and the scorer is light: once every paragraph is in the embedding cache, tagging
    needs neither the encoder's runtime nor scikit-learn."""
    env_code = ("import os, sys\nos.environ['POLICYTAG_CACHE_DIR'] = sys.argv[1]\n"
                "from classifier.cli import main\n"
                "rc = main(['tag', 'examples/article.md', '-o', sys.argv[2], '--force', '-q'])\n"
                "print(rc, ','.join(m for m in ('torch', 'sklearn', 'sentence_transformers') if m in sys.modules))")
    cache = tmp_path / "cache"
    first = subprocess.run([sys.executable, "-c", env_code, str(cache), str(tmp_path / "a.jsonl")], cwd=ROOT,
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split()[0] == "0" and "torch" in first.stdout  # the first run had to encode
    second = subprocess.run([sys.executable, "-c", env_code, str(cache), str(tmp_path / "b.jsonl")], cwd=ROOT,
                            capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "0"
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
