"""The loader's shape, checked on its source (the emulator has its own: tests/emulator/test_layers.py).

Every module of ``asyncbulk`` outside ``asyncbulk/emulator`` is parsed with ``ast`` (imports inside
functions count too). The units, in the order of the data flow, and what each may import:

* the vocabulary (the top-level modules ``_config``, ``_options``, ``_limits``, ``_exceptions``, ``_result``,
  ``_progress``, ``_journal``, ``_display``, ``_crash``): each other only;
* ``_csv`` (read and cut the input): the vocabulary;
* ``_auth``: the vocabulary; ``_bulk`` (the client): the vocabulary and ``_auth``;
* ``_extract`` (one Bulk query to a CSV): the vocabulary, ``_csv``, ``_auth``, ``_bulk``;
* ``_load`` (one load, as stages): the vocabulary, ``_csv``, ``_auth``, ``_bulk``, ``_extract``;
* ``_cli``: anything; and nothing imports ``_cli`` but the entry points.

Only ``_bulk`` imports aiohttp; only ``_cli`` imports the emulator; a unit is imported from its face
(its ``__init__``) by the units above it; no module imports a leading-underscore name from another
module; module-level imports form no circle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import asyncbulk

ROOT = Path(asyncbulk.__file__).parent
VOCABULARY = frozenset(
    {
        "_config",
        "_options",
        "_limits",
        "_exceptions",
        "_result",
        "_progress",
        "_journal",
        "_display",
        "_crash",
    }
)
PACKAGES = ("_csv", "_auth", "_bulk", "_extract", "_load", "_cli")
ALLOWED = {
    "vocabulary": {"vocabulary"},
    "_csv": {"vocabulary"},
    "_auth": {"vocabulary"},
    "_bulk": {"vocabulary", "_auth"},
    "_extract": {"vocabulary", "_csv", "_auth", "_bulk"},
    "_load": {"vocabulary", "_csv", "_auth", "_bulk", "_extract"},
}
ENTRY_POINTS = frozenset({"asyncbulk", "asyncbulk.__main__"})


def unit_of(name: str) -> str:
    """``asyncbulk._load._run`` -> ``_load``; a vocabulary module -> ``vocabulary``."""
    part = name.split(".")[1] if name.count(".") else ""
    if part in PACKAGES:
        return part
    return "vocabulary" if part in VOCABULARY else part


def modules() -> dict[str, tuple[ast.Module, bool]]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "emulator":
            continue
        parts = list(rel.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(["asyncbulk", *parts])] = (ast.parse(path.read_text(encoding="utf-8")), is_package)
    return out


def imports(name: str, tree: ast.Module, is_package: bool) -> list[tuple[int, str, list[str], bool]]:
    """(line, absolute module, names, at module level) for every import of ``tree``."""
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        level = id(node) in top
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, [], level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((node.lineno, target, [a.name for a in node.names], level))
    return found


MODULES = modules()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_follow_the_flow(name: str) -> None:
    tree, is_package = MODULES[name]
    unit = unit_of(name)
    problems = []
    for line, target, names, _ in imports(name, tree, is_package):
        if target.split(".")[0] == "aiohttp" and unit != "_bulk":
            problems.append(f"line {line}: imports aiohttp (only _bulk may)")
        if not target.startswith("asyncbulk") or (
            target == "asyncbulk" and (name in ENTRY_POINTS or names == ["__version__"])
        ):
            continue
        if target.startswith("asyncbulk.emulator"):
            if unit != "_cli":
                problems.append(f"line {line}: imports the emulator (only _cli may)")
            continue
        if target == "asyncbulk" and names != ["__version__"]:
            problems.append(f"line {line}: imports the package's face from inside it")
            continue
        other = unit_of(target)
        if other == "_cli" and unit != "_cli" and name not in ENTRY_POINTS:
            problems.append(f"line {line}: imports {target} (nothing imports the CLI)")
        if unit in ALLOWED and other != unit and other not in ALLOWED[unit]:
            problems.append(f"line {line}: {unit} may not import {target}")
        if other in PACKAGES and other != unit and target != f"asyncbulk.{other}" and unit != "_cli":
            problems.append(f"line {line}: imports {target}, not the face asyncbulk.{other}")
        if target != name.rpartition(".")[0] or not is_package:
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private and not (target.startswith(name + ".") and is_package):
                problems.append(f"line {line}: takes private names {private} from {target}")
    assert not problems, "\n".join(problems)


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, (tree, is_package) in MODULES.items():
        for _, target, names, at_top in imports(name, tree, is_package):
            if not at_top or not target.startswith("asyncbulk") or target.startswith("asyncbulk.emulator"):
                continue
            # ``from .x import y`` may import the submodule x.y; count the deepest module that exists.
            for candidate in [*(f"{target}.{n}" for n in names), target]:
                if candidate in MODULES and candidate != name:
                    graph[name].add(candidate)
                    break
    seen: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in graph[node]:
            # A package's face importing its own modules is how a face works, not a circle.
            if nxt.startswith(node + "."):
                continue
            if seen.get(nxt) == 1 and not node.startswith(nxt + "."):
                pytest.fail("import circle: " + " -> ".join([*path, nxt]))
            if nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for module in sorted(MODULES):
        if module not in seen:
            visit(module, [module])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name: str) -> None:
    """About 400 lines at most; the byte scanner is long because its fast path is one piece."""
    _tree, is_package = MODULES[name]
    path = ROOT / Path(*name.split(".")[1:]) / "__init__.py" if is_package else None
    file = path if path is not None else ROOT / (str(Path(*name.split(".")[1:])) + ".py")
    lines = len(file.read_text(encoding="utf-8").splitlines())
    limit = 560 if name == "asyncbulk._csv._scanner" else 420
    assert lines <= limit, f"{name}: {lines} lines"
