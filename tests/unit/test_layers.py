"""Imports go one way: the store and the transport never reach up into the
backends, the result types are a leaf, and the transport has no import cycle.

Every import statement counts, including those inside functions and under
``TYPE_CHECKING``: a lazy import hides an inversion from Python, not from a
reader.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sregistry"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    root = PACKAGE.parent
    return (root / relative).with_suffix(".py").is_file() or (root / relative).is_dir()


def imports_of(path: Path) -> set[str]:
    """Every ``sregistry`` module ``path`` imports, anywhere in its code."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate) else base)
    return {module for module in found if module.split(".")[0] == "sregistry"}


def _modules(folder: str) -> dict[str, set[str]]:
    return {
        _module_name(path): imports_of(path) for path in sorted((PACKAGE / folder).rglob("*.py"))
    }


@pytest.mark.parametrize("folder", ["store", "transfer"])
def test_lower_layers_never_import_the_backends_or_the_cli(folder: str) -> None:
    upward = {
        module: sorted(i for i in imported if i.startswith(("sregistry.main", "sregistry.cli")))
        for module, imported in _modules(folder).items()
    }
    assert {module: found for module, found in upward.items() if found} == {}


def test_the_result_types_are_a_leaf() -> None:
    assert imports_of(PACKAGE / "results.py") <= {"sregistry.errors"}


def test_the_result_types_are_still_importable_from_main_base() -> None:
    from sregistry import results
    from sregistry.main import base

    for name in results.__all__:
        assert getattr(base, name) is getattr(results, name), name


def test_the_store_imports_with_the_backends_unavailable(tmp_path: Path) -> None:
    """With ``sregistry.main`` unimportable, the store still imports and works."""
    code = (
        "import sys\n"
        "sys.modules['sregistry.main'] = None\n"
        "from sregistry.store import ImageStore\n"
        "from sregistry.store.cache import PullCache\n"
        "import sregistry.store.describe, sregistry.store.records\n"
        "store = ImageStore(sys.argv[1])\n"
        "image = store.add(sys.argv[2], 'demo/leaf:1', copy=True)\n"
        "assert image.to_image_info().uri == 'demo/leaf:1'\n"
        "assert store.labels() == []\n"
        "print(store.target_path(image, sys.argv[1] + '/').name)\n"
    )
    image = tmp_path / "image.sif"
    image.write_bytes(b"not really an image")
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "store"), str(image)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "demo-leaf_1.sif"


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle in ``graph`` (as a path back to its start), or ``[]``."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done or module not in graph:
            return []
        for imported in sorted(graph[module]):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return []

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_the_transport_has_no_import_cycle() -> None:
    graph = _modules("transfer")
    graph.pop("sregistry.transfer")  # the package re-exports its modules
    assert _cycle(graph) == []
