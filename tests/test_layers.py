"""The package has one direction, and importing it does nothing.

Every import between the package's modules counts, also one inside a function or under
`if TYPE_CHECKING:`: a cycle hidden in a function is still a cycle (each side needs the other to
be understood, moved or tested alone). The layers are listed in lstm_utils/__init__.py.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "lstm_utils"


def module_names(package: Path = PACKAGE) -> dict[str, Path]:
    """Each module of the package by its dotted name (a package by its own, from `__init__.py`)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Which of the package's modules each module imports, anywhere in its file.

    `import a.b` is an edge to `a.b`; `from a import b` to the module `a.b` when there is one,
    else to `a`; relative imports are resolved against the importing module's package. The
    packages a module sits in, which Python imports first, are not counted as its imports."""
    modules = module_names(package)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [known(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(here.split(".")[: len(here.split(".")) - node.level + 1])
                    source = f"{base}.{node.module}" if node.module else base
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.append(sub if sub in modules else known(source))
            graph[name] |= {t for t in targets if t is not None and t != name}
    return graph


def _digraph(graph: dict[str, set[str]]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(graph)
    g.add_edges_from((v, w) for v, ws in graph.items() for w in ws)
    return g


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module, each sorted."""
    return sorted(sorted(c) for c in nx.strongly_connected_components(_digraph(graph)) if len(c) > 1)


def one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A path through the component's imports that comes back to where it started."""
    edges = nx.find_cycle(_digraph(graph).subgraph(component), source=component[0])
    return [edges[0][0], *(w for _, w in edges)]


def test_the_graph_reads_every_kind_of_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import X\n")
    (package / "b.py").write_text("def f():\n    from . import c\n")
    (package / "c.py").write_text("def g():\n    import pkg.sub.d\n")
    (package / "sub" / "__init__.py").write_text("from .d import Y\n")
    (package / "sub" / "d.py").write_text("from ..a import Z\nfrom pkg import e\nimport os\n")
    (package / "e.py").write_text("")
    graph = import_graph(package)
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.sub.d"},
                     "pkg.e": set(), "pkg.sub": {"pkg.sub.d"}, "pkg.sub.d": {"pkg.a", "pkg.e"}}
    (found,) = cycles(graph)
    assert found == ["pkg.a", "pkg.b", "pkg.c", "pkg.sub.d"]
    assert one_cycle(graph, found) == ["pkg.a", "pkg.b", "pkg.c", "pkg.sub.d", "pkg.a"]


def test_no_module_of_the_package_imports_itself_back():
    graph = import_graph()
    assert len(graph) > 40 and "lstm_utils.strategies._common" in graph
    assert "lstm_utils.train" in graph["lstm_utils.strategies._common"]  # an import inside a function counts
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" -> ".join(one_cycle(graph, c)) for c in found)


# Imports the package and its command line in a fresh process, watching what it opens and how it
# changes the import system, the environment and Keras; then the notebooks' module.
IMPORT_ONLY = r"""
import json, os, sys

opened = []


def watch(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.fsdecode(args[0]))


sys.addaudithook(watch)
finders, environ = list(sys.meta_path), dict(os.environ)
import lstm_utils
import lstm_utils.cli
out = {"params_opened": [p for p in opened if os.path.basename(p) == "params.yaml"],
       "meta_path_kept": sys.meta_path == finders and all(a is b for a, b in zip(sys.meta_path, finders)),
       "environ_kept": dict(os.environ) == environ, "keras": "keras" in sys.modules,
       "iri": "rfc3987_syntax" in sys.modules}
import lstm_utils.notebooks
iri = sys.modules.get("rfc3987_syntax")
out["after_notebooks"] = {"params_opened": [p for p in opened if os.path.basename(p) == "params.yaml"],
                          # nbformat's own imports add a finder (six's): none may be ours
                          "finders_of_ours": [repr(f) for f in sys.meta_path
                                              if type(f).__module__.startswith("lstm_utils")],
                          "environ_kept": dict(os.environ) == environ,
                          "stand_in": "stands in" in (getattr(iri, "__doc__", None) or "")}
print("OUT " + json.dumps(out))
"""


def test_importing_the_package_reads_no_params_and_leaves_the_import_system_alone():
    """`import lstm_utils` (and its command line, and the notebooks' module) opens no params.yaml,
    adds no finder, sets no environment variable and starts no Keras: a process chooses its
    backend where it starts (the command line's `main`, a notebook's first cell, the tests'
    conftest), and the IRI stand-in is put in place by a stage's command alone."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "XLA_", "JAX_", "TF_"))}
    done = subprocess.run([sys.executable, "-c", IMPORT_ONLY], cwd=PACKAGE.parent, env=clean, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(next(ln for ln in done.stdout.splitlines() if ln.startswith("OUT "))[4:])
    assert out.pop("after_notebooks") == {"params_opened": [], "finders_of_ours": [], "environ_kept": True,
                                          "stand_in": False}
    assert out == {"params_opened": [], "meta_path_kept": True, "environ_kept": True, "keras": False, "iri": False}


# Where a process starts, it chooses: the command line's main, before anything else (here --help,
# which stops in the argument parser), on the nearest params.yaml's backend over KERAS_BACKEND.
CHOOSES = r"""
import os, sys
import lstm_utils.cli
assert "KERAS_BACKEND" not in os.environ or os.environ["KERAS_BACKEND"] == "torch"
try:
    lstm_utils.cli.main(["--help"])
except SystemExit:
    pass
print("OUT", os.environ.get("KERAS_BACKEND"), "keras" in sys.modules)
"""


def test_the_command_line_chooses_the_params_backend_where_it_starts(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  backend: tensorflow\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "XLA_", "JAX_", "TF_"))}
    env["PYTHONPATH"] = str(PACKAGE.parent)
    done = subprocess.run([sys.executable, "-c", CHOOSES], cwd=tmp_path, env=env | {"KERAS_BACKEND": "torch"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "OUT tensorflow False"


def test_each_notebook_chooses_the_backend_in_its_first_cell_before_any_model_code():
    """The kernel is a process of its own: its first code cell (after the parameters) pins the
    environment and chooses, before anything loads NumPy (`%matplotlib inline` does) or Keras."""
    for path in sorted((PACKAGE.parent / "notebooks").glob("*.ipynb")):
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        lines = "".join(cells[1]["source"]).splitlines()
        call = lines.index("select_for_project()  # before NumPy loads: the pinned bits of lstm_utils.portable, "
                           "and Keras on params.yaml's train.backend")
        assert [ln for ln in lines[:call] if ln.strip()] == ["from lstm_utils.backend import select_for_project"], \
            path.name
