"""The shape of the house (issue 9): rooms without import circles, small modules, a typed public face.

The layer contracts themselves are import-linter's (``[tool.importlinter]`` in pyproject.toml, run by
``make test``); these tests check what import-linter does not: module-level cycles, file sizes, the public
names and the typed Runtime.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
from pathlib import Path

import grimp
import pytest

import cr_einvoice
from cr_einvoice.app.runtime import Runtime

PACKAGE = Path(cr_einvoice.__file__).parent
MAX_LINES = 900


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph("cr_einvoice")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == [["p.a", "p.b"]]


def test_no_module_is_over_900_lines() -> None:
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_every_public_name_resolves() -> None:
    missing = [name for name in cr_einvoice.__all__ if getattr(cr_einvoice, name, None) is None]
    assert missing == []
    assert cr_einvoice.decode is cr_einvoice.decode_respuesta
    assert cr_einvoice.Issuer.__module__ == "cr_einvoice.outbox.issuing"


def test_an_unknown_public_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchName"):
        cr_einvoice.NoSuchName  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_loads_no_network_or_xml_stack() -> None:
    """A point of sale pays for what it uses: ``import cr_einvoice`` alone loads neither httpx nor lxml."""
    code = (
        "import sys, cr_einvoice; print(sorted(m for m in ('httpx', 'lxml', 'authlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_runtime_is_typed_and_documented() -> None:
    for name, member in inspect.getmembers(Runtime):
        if name.startswith("_"):
            continue
        function = member.fget if isinstance(member, property) else member
        if not callable(function):
            continue
        assert function.__doc__, f"Runtime.{name} has no docstring"
        annotation = inspect.signature(function).return_annotation
        assert annotation is not inspect.Signature.empty, f"Runtime.{name} has no return annotation"
        assert annotation not in ("Any", typing.Any), f"Runtime.{name} returns Any"
    assert callable(Runtime.worker) and callable(Runtime.issue_and_wait)
