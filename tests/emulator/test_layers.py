"""The emulator's shape, checked on its source: layers import downward, through faces, without circles.

Every module under ``asyncbulk/emulator`` is parsed with ``ast`` (imports inside functions count too).
The units and what each may import:

* ``_vocab`` (the API's enums and limits) and ``_clock`` (the org's time): nothing of the emulator;
* ``_config``: ``_vocab``; ``_faults``: ``_vocab``, ``_config``;
* ``_data`` (records, jobs in SQLite): ``_vocab``;
* ``_ingest`` (jobs, uploads, batches): ``_data`` and the shared modules;
* ``_query`` (query jobs, their runs and pages): ``_ingest``, ``_data`` and the shared modules;
* ``_http`` (the REST surface): ``_query``, ``_ingest``, ``_data`` and the shared modules;
* the entry points (``__init__``, ``__main__``, ``_main``, ``_server``, ``_tls``): anything.

A module outside ``_data``, ``_ingest`` or ``_http`` imports from that package's ``__init__`` (its
face), never from one of its modules; no module imports a leading-underscore name from another
module or reaches a private attribute other than through ``self`` or ``cls``; nothing imports
anything of asyncbulk outside the emulator; and the loader imports the emulator only from its
command-line and demo modules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import asyncbulk
import asyncbulk.emulator

EMULATOR = Path(asyncbulk.emulator.__file__).parent
PACKAGE = "asyncbulk.emulator"
SHARED = frozenset({"_vocab", "_clock", "_config", "_faults"})
LAYERS = ("_data", "_ingest", "_query", "_http")
ALLOWED: dict[str, frozenset[str]] = {
    "_vocab": frozenset(),
    "_clock": frozenset(),
    "_config": frozenset({"_vocab"}),
    "_faults": frozenset({"_vocab", "_config"}),
    "_data": frozenset({"_vocab"}),
    "_ingest": frozenset({"_vocab", "_clock", "_config", "_faults", "_data"}),
    # Query jobs share the jobs' refusal (ApiError), creator and date format with ingest's.
    "_query": frozenset({"_vocab", "_clock", "_config", "_faults", "_data", "_ingest"}),
    "_http": frozenset({"_vocab", "_clock", "_config", "_faults", "_data", "_ingest", "_query"}),
}


@dataclass
class Module:
    """One module of a package: its dotted name, whether it is a package's ``__init__``, its tree."""

    name: str
    is_package: bool
    tree: ast.Module
    #: (line, imported module, names taken from it or None for a plain ``import``)
    imports: list[tuple[int, str, list[str] | None]] = field(default_factory=list)


def _modules(root: Path, package: str) -> dict[str, Module]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join([package, *parts])
        out[name] = Module(name, is_package, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


def _resolve(modules: dict[str, Module]) -> None:
    """Fill each module's imports with absolute module names."""
    for mod in modules.values():
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    mod.imports.append((node.lineno, alias.name, None))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.name if mod.is_package else mod.name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                names = [alias.name for alias in node.names]
                submodules = [n for n in names if f"{target}.{n}" in modules]
                for n in submodules:
                    mod.imports.append((node.lineno, f"{target}.{n}", None))
                rest = [n for n in names if n not in submodules]
                if rest or not submodules:
                    mod.imports.append((node.lineno, target, rest))


def _unit(name: str) -> str:
    """The emulator unit a module belongs to: ``_data``, ``_vocab``... or ``""`` (an entry point)."""
    rest = name.removeprefix(PACKAGE).lstrip(".")
    top = rest.split(".")[0] if rest else ""
    return top if top in SHARED or top in LAYERS else ""


MODULES = _modules(EMULATOR, PACKAGE)
_resolve(MODULES)


def _within(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def test_the_emulator_is_all_there() -> None:
    """The rules below are checked on the real tree (a wrong path would make them pass vacuously)."""
    units = {_unit(name) for name in MODULES}
    assert units == {"", *SHARED, *LAYERS}
    assert len(MODULES) > 30


def test_nothing_outside_the_emulator_is_imported() -> None:
    bad = [
        f"{mod.name}:{line} imports {target}"
        for mod in MODULES.values()
        for line, target, _ in mod.imports
        if (target == "asyncbulk" or target.startswith("asyncbulk.")) and not _within(target)
    ]
    assert bad == []


def test_layers_import_only_downward() -> None:
    bad = []
    for mod in MODULES.values():
        unit = _unit(mod.name)
        if not unit:
            continue  # the entry points may import any layer
        for line, target, _ in mod.imports:
            if not _within(target):
                continue
            other = _unit(target)
            if other != unit and other not in ALLOWED[unit]:
                bad.append(f"{mod.name}:{line} ({unit}) imports {target} ({other or 'an entry point'})")
    assert bad == []


def test_layers_are_reached_through_their_faces() -> None:
    bad = []
    for mod in MODULES.values():
        for line, target, _ in mod.imports:
            other = _unit(target)
            if other in LAYERS and _unit(mod.name) != other and target != f"{PACKAGE}.{other}":
                bad.append(f"{mod.name}:{line} imports {target}, not {PACKAGE}.{other}")
    assert bad == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_names_cross_modules() -> None:
    bad = [
        f"{mod.name}:{line} imports {name} from {target}"
        for mod in MODULES.values()
        for line, target, names in mod.imports
        for name in names or ()
        if _private(name) and target != mod.name
    ]
    bad += [
        f"{mod.name}:{node.lineno} reads {ast.unparse(node)}"
        for mod in MODULES.values()
        for node in ast.walk(mod.tree)
        if isinstance(node, ast.Attribute)
        and _private(node.attr)
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert bad == []


def test_no_import_circles() -> None:
    graph = {
        mod.name: {target for _, target, _ in mod.imports if target in MODULES and target != mod.name}
        for mod in MODULES.values()
    }
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert circles == []


@pytest.mark.parametrize("allowed", [("_cli", "_demo")])
def test_the_loader_imports_the_emulator_only_from_its_command_line(allowed: tuple[str, ...]) -> None:
    loader = Path(asyncbulk.__file__).parent
    modules = {name: mod for name, mod in _modules(loader, "asyncbulk").items() if not _within(name)}
    _resolve(modules)
    importers = {
        mod.name
        for mod in modules.values()
        for _, target, names in mod.imports
        if _within(target) or (target == "asyncbulk" and "emulator" in (names or ()))
    }
    assert importers, "the CLI's emulator command and the demo import the emulator"
    assert all(any(part in name for part in allowed) for name in importers), importers
