"""Fixtures for the clave / schemas / rules tests: hand-written valid vouchers and a path-based mutator."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

DATA = Path(__file__).parent / "data"


def load(name: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.parse(str(DATA / name), parser).getroot()


def find(root: etree._Element, path: str) -> etree._Element:
    """Resolve ``A/B[2]/C`` (local names, 1-based indexes) below ``root``; fails the test when absent."""
    node = root
    for step in path.split("/"):
        match = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", step)
        assert match, step
        name, index = match.group(1), int(match.group(2) or 1)
        same = [c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name]
        assert len(same) >= index, f"{path}: no {step}"
        node = same[index - 1]
    return node


def set_text(root: etree._Element, path: str, text: str) -> None:
    find(root, path).text = text


def remove(root: etree._Element, path: str) -> None:
    node = find(root, path)
    parent = node.getparent()
    assert parent is not None
    parent.remove(node)


def insert_after(root: etree._Element, path: str, name: str, text: str | None = None) -> etree._Element:
    """Insert a new element ``name`` (same namespace as the root) right after ``path``."""
    anchor = find(root, path)
    ns = etree.QName(root).namespace
    new = etree.Element(f"{{{ns}}}{name}")
    new.text = text
    anchor.addnext(new)
    return new


def add_child(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    ns = etree.QName(parent).namespace
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    child.text = text
    return child


class XmlTools:
    """The helpers above, handed to tests through the ``xt`` fixture (test modules cannot import conftest)."""

    load = staticmethod(load)
    find = staticmethod(find)
    set_text = staticmethod(set_text)
    remove = staticmethod(remove)
    insert_after = staticmethod(insert_after)
    add_child = staticmethod(add_child)


@pytest.fixture
def xt() -> type[XmlTools]:
    return XmlTools


@pytest.fixture
def fe() -> etree._Element:
    return load("fe_valid.xml")


@pytest.fixture
def rep() -> etree._Element:
    return load("rep_valid.xml")


@pytest.fixture
def mr() -> etree._Element:
    return load("mr_valid.xml")


def _retype(root: etree._Element, local: str, ns_name: str, tipo: str) -> etree._Element:
    """The FE fixture re-rooted as another document type (clave and consecutivo follow)."""
    ns = f"https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/{ns_name}"
    text = etree.tostring(root).decode()
    old_ns = etree.QName(root).namespace
    assert old_ns is not None
    text = text.replace(old_ns, ns).replace("FacturaElectronica", local)
    new = etree.fromstring(text.encode())
    clave = find(new, "Clave").text or ""
    consecutivo = find(new, "NumeroConsecutivo").text or ""
    consecutivo = consecutivo[:8] + tipo + consecutivo[10:]
    find(new, "NumeroConsecutivo").text = consecutivo
    find(new, "Clave").text = clave[:21] + consecutivo + clave[41:]
    return new


@pytest.fixture
def retype(fe: etree._Element) -> Callable[[str, str, str], etree._Element]:
    return lambda local, ns_name, tipo: _retype(fe, local, ns_name, tipo)
