"""The seam between the runtime and training: verdicts and heatmaps never load TensorFlow or Keras.

The runtime is what ``make run`` installs (no TensorFlow at all); ``classifier/training/`` holds
everything that needs TensorFlow or the dataset. Two checks: statically, no runtime module imports
TensorFlow, Keras or the training package at module level; dynamically, a fresh process that
predicts with a heatmap through the public API ends with none of them in ``sys.modules``.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import REPO

RUNTIME = sorted(p for p in (REPO / "classifier").glob("*.py"))
FORBIDDEN = ("tensorflow", "keras", "classifier.training", "torch", "imwatermark")
# Entry points may dispatch to training commands from inside a function (``python -m classifier train``).
DISPATCHERS = {"cli.py"}


def _imports(tree: ast.AST, package: str, top_level_only: bool) -> list[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.append(f"{base}.{node.module}" if node.module else base)
            else:
                names.append(node.module or "")
    return names


def test_runtime_modules_do_not_import_tensorflow_keras_or_training():
    assert len(RUNTIME) >= 10, "runtime modules not found"
    offenders = {}
    for path in RUNTIME:
        tree = ast.parse(path.read_text())
        names = _imports(tree, "classifier", top_level_only=path.name in DISPATCHERS)
        bad = [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
        if bad:
            offenders[path.name] = bad
    assert not offenders, f"runtime modules importing training code or TensorFlow: {offenders}"


def test_check_catches_an_offender(tmp_path):
    """The static check is not vacuous: a module with a lazy Keras import is flagged."""
    tree = ast.parse("def f():\n    import keras\n    from .training import train\n")
    assert {"keras", "classifier.training"} <= set(_imports(tree, "classifier", top_level_only=False))


def test_predict_with_heatmap_loads_no_tensorflow(cli_env, portrait_jpeg, tmp_path):
    """Through the public API, a verdict with heatmaps leaves no TensorFlow, Keras or training module loaded."""
    img = tmp_path / "face.jpg"
    img.write_bytes(portrait_jpeg)
    code = (
        "import sys, classifier\n"
        "from classifier import load_classifier, annotate, load_image\n"
        f"p = load_classifier().predict({str(img)!r}, explain=True)\n"
        "assert p.faces and p.faces[0].heatmap is not None\n"
        f"annotate(load_image({str(img)!r}), p, heatmaps=True)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'torch')"
        " or m.startswith('classifier.training')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=cli_env, cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def module_graph(packages: list[str]) -> dict[str, set[str]]:
    """Which of the modules under ``packages`` (folders of REPO) each one imports, lazily or not."""
    paths = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
             for pkg in packages for p in sorted((REPO / pkg).rglob("*.py"))}
    graph = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = _imports(ast.Module([node], []), package, top_level_only=True)[0]
                subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in paths}
                found |= subs | ({base} if len(subs) < len(node.names) else set())  # ``from . import x``: x only
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan): each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


def test_no_module_imports_itself_round_a_circle():
    """No import circle anywhere in the package or the app (refit <-> train was the last): a circle means two
    modules that cannot be understood, tested or changed apart."""
    graph = module_graph(["classifier", "ui", "pages"])
    assert len(graph) > 40 and "classifier.training.refit" in graph
    assert import_cycles(graph) == []
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # not vacuous


APP = [REPO / "Home.py", *sorted((REPO / "pages").glob("*.py")), *sorted((REPO / "ui").glob("*.py"))]


def test_the_app_imports_no_tensorflow_keras_or_training_code():
    """Home.py, pages/ and ui/ go through the runtime package only: the app runs on what ``make run`` installs,
    and a change to training code cannot break a page. What Insights needs (dataset samples, the held-out
    margin) lives on the runtime side (``classifier.dataset``, ``classifier.heldout``) or in models/."""
    assert len(APP) >= 8, "app modules not found"
    offenders = {}
    for path in APP:
        package = "ui" if path.parent.name == "ui" else path.parent.name
        names = _imports(ast.parse(path.read_text()), package, top_level_only=False)
        bad = [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
        if bad:
            offenders[str(path.relative_to(REPO))] = bad
    assert not offenders, f"app modules importing training code or TensorFlow: {offenders}"
