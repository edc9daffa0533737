"""The layering rules of src/, read with ``ast`` (nothing is imported):

- no module imports a private name (``_x``: a private module, or a private name of a module)
  that belongs to ANOTHER package (``vehiclust.cluster._rule`` is for ``vehiclust.cluster``
  only);
- no import cycle between modules, neither through the imports that run when a module is
  imported nor through imports inside functions (two modules that import each other from
  function bodies are a two-way dependency: one of them should own what both need).

Run as a script (``python tests/test_imports.py``) to list every finding.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "vehiclust"


def modules(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name → file, for every module under ``src/vehiclust``."""
    out = {}
    for path in sorted((src / ROOT).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _package(name: str, mods: dict[str, Path]) -> str:
    """The package a module belongs to (a package's own ``__init__`` belongs to itself)."""
    return name if mods[name].name == "__init__.py" else name.rpartition(".")[0]


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def _nodes(tree: ast.AST, lazy: bool):
    """Every node; with ``lazy=False`` only what runs on import (no function bodies, no
    ``if TYPE_CHECKING:`` blocks)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not lazy and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if not lazy and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            todo.append(child)


def imports(name: str, mods: dict[str, Path], lazy: bool = True) -> list[tuple[int, str, str | None]]:
    """(line, module imported, name taken from it or None) of the imports in module ``name``:
    every one, or (``lazy=False``) those that run when the module is imported. A module's
    private attribute read through a module alias (``M._name``) counts as taking that name."""
    tree = ast.parse(mods[name].read_text(encoding="utf-8"))
    package = _package(name, mods)
    out = []
    aliases: dict[str, str] = {}
    for node in _nodes(tree, lazy):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == ROOT]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != ROOT:
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((node.lineno, sub, None) if sub in mods else (node.lineno, target, a.name))
                if sub in mods:
                    aliases[a.asname or a.name] = sub
    for node in _nodes(tree, lazy):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and _private(node.attr)):
            out.append((node.lineno, aliases[node.value.id], node.attr))
    return out


def private_imports(mods: dict[str, Path] | None = None) -> list[str]:
    """Every import of another package's private module or private name, as 'file:line: what'."""
    mods = modules() if mods is None else mods
    found = []
    for name in mods:
        package = _package(name, mods)
        for line, target, taken in imports(name, mods):
            parts = target.split(".")
            # the owner of a private module is the package holding it; of a private name, the module's package
            cut = next((i for i, p in enumerate(parts) if _private(p)), None)
            if cut is not None:
                owner, what = ".".join(parts[:cut]), ".".join(parts[: cut + 1])
            elif taken is not None and _private(taken) and target in mods:
                owner, what = _package(target, mods), f"{target}.{taken}"
            else:
                continue
            if owner == package:
                continue
            found.append(f"{name}:{line}: {name} imports {what}")
    return found


def _top(name: str) -> str:
    """The top-level package (or root module) a module belongs to: ``vehiclust.cluster``."""
    return ".".join(name.split(".")[:2])


def import_cycles(mods: dict[str, Path] | None = None, lazy: bool = False,
                  packages: bool = False) -> list[list[str]]:
    """The strongly connected groups of two or more modules (or a module importing itself), by
    the imports that run on import; ``lazy=True`` counts imports inside functions too (two
    modules that call each other: not a cycle Python can trip on, but a knot to look at);
    ``packages=True`` joins the modules of each top-level package (``vehiclust.cluster``):
    a package that imports back from one that imports it."""
    mods = modules() if mods is None else mods
    graph: dict[str, list[str]] = {}
    for name in mods:
        targets = {t for _, t, _ in imports(name, mods, lazy=lazy) if t in mods}
        if packages:
            graph.setdefault(_top(name), [])
            graph[_top(name)] = sorted(set(graph[_top(name)]) | {_top(t) for t in targets if _top(t) != _top(name)})
        else:
            graph[name] = sorted(targets)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return groups


def test_no_private_name_is_imported_across_packages():
    found = private_imports()
    assert not found, "private names imported from another package:\n" + "\n".join(found)


def test_no_import_cycle():
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_two_way_dependency_through_imports_inside_functions():
    cycles = import_cycles(lazy=True)
    assert not cycles, "two-way dependencies (imports inside functions included):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_no_package_imports_back_from_one_that_imports_it():
    cycles = import_cycles(lazy=True, packages=True)
    assert not cycles, "packages that depend on each other (imports inside functions included):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


#: Who may read an input image: the evidence layer measures, ``io.images`` reads (and makes the
#: thumbnails galleries show), ``extract`` feeds the models. The report re-opens only files
#: vehiclust wrote itself (figures, thumbnails' bytes).
IMAGE_READERS = {"load_image": ("vehiclust.evidence", "vehiclust.io.images", "vehiclust.extract._runner"),
                 "Image.open": ("vehiclust.io.images", "vehiclust.report"),
                 "imread": ()}


def image_readers(mods: dict[str, Path] | None = None) -> list[str]:
    """Every call that opens an image file outside the modules :data:`IMAGE_READERS` allows."""
    mods = modules() if mods is None else mods
    found = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = ast.unparse(node.func)
            for what, allowed in IMAGE_READERS.items():
                if (called == what or called.endswith("." + what)) and not name.startswith(allowed or ("\0",)):
                    found.append(f"{name}:{node.lineno}: {called}")
    return found


def test_only_the_evidence_layer_and_io_open_input_images():
    found = image_readers()
    assert not found, "images opened outside vehiclust.evidence / io.images:\n" + "\n".join(found)


def test_the_checks_catch_what_they_look_for(tmp_path):
    """A cross-package private import and a cycle in a made-up tree are found; allowed ones are not."""
    pkg = tmp_path / ROOT
    for rel, text in {
        "__init__.py": "",
        "progress.py": "",
        "a/__init__.py": "from vehiclust.a._own import x\n",
        "a/_own.py": "x = 1\n_y = 2\n",
        "a/pub.py": "_z = 3\nfrom . import _own\n",
        "b/__init__.py": "",
        "b/use.py": ("from vehiclust.a._own import x\nfrom vehiclust.a.pub import _z\nfrom ..a import _own\n"
                     "from vehiclust import progress\nimport vehiclust.b.loop\n"),
        "b/loop.py": "from vehiclust.b import use\n",
        "b/lazy.py": "from vehiclust.a import pub as P\n\ndef f():\n    from vehiclust.b import use\n    return P._z\n",
    }.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    mods = modules(tmp_path)
    found = private_imports(mods)
    assert [f.split(": ", 1)[1] for f in found] == [
        "vehiclust.b.lazy imports vehiclust.a.pub._z",
        "vehiclust.b.use imports vehiclust.a._own",
        "vehiclust.b.use imports vehiclust.a.pub._z",
        "vehiclust.b.use imports vehiclust.a._own",
    ]
    assert import_cycles(mods) == [["vehiclust.b.loop", "vehiclust.b.use"]]
    (pkg / "b" / "use.py").write_text("def f():\n    from vehiclust.b import lazy\n")  # both ways, inside functions
    (pkg / "b" / "loop.py").write_text("")
    assert import_cycles(mods) == []
    assert import_cycles(mods, lazy=True) == [["vehiclust.b.lazy", "vehiclust.b.use"]]
    assert import_cycles(mods, lazy=True, packages=True) == []  # within one package
    (pkg / "a" / "pub.py").write_text("def g():\n    from vehiclust.b import use\n")  # a -> b, and b -> a
    assert import_cycles(mods, lazy=True, packages=True) == [["vehiclust.a", "vehiclust.b"]]


if __name__ == "__main__":
    for line in private_imports():
        print(line)
    for cycle in import_cycles():
        print("cycle:", " <-> ".join(cycle))
    for cycle in import_cycles(lazy=True):
        print("two-way through imports inside functions:", " <-> ".join(cycle))
    for cycle in import_cycles(lazy=True, packages=True):
        print("packages depending on each other:", " <-> ".join(cycle))
    for line in image_readers():
        print("opens an image:", line)
