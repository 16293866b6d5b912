"""The JSON input format's two readings: the quick one (no JSON paths kept) gives exactly the document the
careful one gives, and whatever the quick one cannot take is read by the careful one, which names every
problem with its path -- the same problems as before the quick reading existed."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers import jsonio
from cr_einvoice.vouchers.jsonio import ALIASES, KINDS, document_from_json, document_to_json


def _careful(data: dict[str, Any]) -> Any:
    kind = ALIASES.get(str(data["tipo"]), str(data["tipo"]).lower())
    return jsonio._build(KINDS[kind], {k: v for k, v in data.items() if k != "tipo"}, "")


def _quick(data: dict[str, Any]) -> Any:
    kind = ALIASES.get(str(data["tipo"]), str(data["tipo"]).lower())
    return jsonio._quick_document(KINDS[kind], {k: v for k, v in data.items() if k != "tipo"})


@pytest.mark.parametrize("kind", EXAMPLE_KINDS)
def test_the_quick_reading_is_the_careful_one(kind: str) -> None:
    data = example_json(kind)
    quick = _quick(data)
    assert quick is not None, "a valid example must not need the careful reading"
    careful = _careful(data)
    assert quick == careful
    assert document_to_json(quick, include_computed=True) == document_to_json(careful, include_computed=True)
    # read from the JSON text (Decimals, numbers as codes) the same way
    text = json.dumps(document_to_json(careful))
    assert document_from_json(text) == careful


def _problems(read: Callable[[], object]) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        read()
    return list(info.value.problems)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


BROKEN = {
    "unknown key": _set(("lineas", 1, "monto_totl"), "1"),
    "computed key": _set(("resumen",), {"total_comprobante": "1"}),
    "missing required": _drop(("lineas", 0, "detalle")),
    "list expected": _set(("lineas", 0, "impuestos"), {"codigo": "01"}),
    "object expected": _set(("receptor",), "Cliente"),
    "bad amount": _set(("lineas", 2, "precio_unitario"), "doce"),
    "bad code": _set(("lineas", 0, "impuestos", 0, "codigo_tarifa_iva"), "42"),
    "float amount": _set(("lineas", 0, "precio_unitario"), 4500.1),
    "bad identification": _set(("receptor", "identificacion", "numero"), "12-345"),
    "item not an object": _set(("medios_pago", 0), "01"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_refused_document_is_named_by_the_careful_reading(name: str) -> None:
    data = example_json("fe")
    broken = copy.deepcopy(data)
    BROKEN[name](broken)
    assert _quick(broken) is None
    problems = _problems(lambda: document_from_json(broken))
    assert problems == _problems(lambda: _careful(broken))
    assert problems, name


def test_every_problem_is_named_at_once() -> None:
    data = example_json("fe")
    for name in ("unknown key", "computed key", "missing required", "object expected", "bad amount"):
        BROKEN[name](data)
    paths = {p.path for p in _problems(lambda: document_from_json(data))}
    wanted = {"lineas[1].monto_totl", "resumen", "lineas[0].detalle", "receptor", "lineas[2].precio_unitario"}
    assert paths == wanted
