"""The one hardened reader for untrusted JSON.

Hacienda's answers, callback bodies, the simulator's requests, the IdP's tokens and files given on the
command line all go through :func:`loads`: a byte-size limit, a nesting-depth limit checked *before* the
standard parser runs (so no ``RecursionError``), UTF-8 only, and no ``NaN``/``Infinity`` (not JSON). Every
refusal is a :class:`JSONInputError` naming what was read.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from itertools import accumulate
from typing import Any

from cr_einvoice.core.errors import ValidationError

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_JSON_BYTES", "JSONInputError", "loads"]

#: 2 MiB: a status answer with a MensajeHacienda is a few tens of KiB.
DEFAULT_MAX_JSON_BYTES = 2 * 1024 * 1024
#: Hacienda's and the simulator's documents nest 4 levels at most; vouchers as JSON about 6.
DEFAULT_MAX_DEPTH = 32

# A JSON string, removed as a whole before the brackets are counted: brackets inside strings do not count.
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: Every byte but the four brackets (deleted, leaving the brackets in order).
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: How each bracket moves the depth.
_STEP = [0] * 256
for _b in b"[{":
    _STEP[_b] = 1
for _b in b"]}":
    _STEP[_b] = -1


class JSONInputError(ValidationError):
    """Untrusted JSON was refused: too large, too deep, not UTF-8, not JSON, or using NaN/Infinity."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(reason, path=what)
        self.what = what
        self.reason = reason


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(raw: bytes) -> int:
    """How deep the brackets outside strings nest (counted in C: strings removed, the brackets kept, the
    running depth summed by ``accumulate``)."""
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets)), default=0))


#: The standard decoder as :func:`loads` configures it, made once (``json.loads`` with options makes one
#: per call): numbers with a fraction as floats or, for amounts, as exact Decimals.
_DECODERS = {
    exact: json.JSONDecoder(parse_constant=_refuse_constant, parse_float=Decimal if exact else float)
    for exact in (False, True)
}


def loads(
    data: bytes | bytearray | memoryview | str,
    *,
    what: str,
    max_bytes: int = DEFAULT_MAX_JSON_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    decimal: bool = False,
) -> Any:
    """Parse untrusted JSON ``data`` (UTF-8 bytes, or str) within the limits; ``what`` names it in errors.

    ``decimal=True`` reads numbers with a fraction as :class:`~decimal.Decimal` (amounts).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise JSONInputError(what, f"is {len(raw)} bytes, over the {max_bytes}-byte limit")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONInputError(what, f"is not UTF-8 (byte {exc.start})") from None
    # No more opening brackets than the limit in all: none can nest deeper (the usual case, not counted).
    if raw.count(b"[") + raw.count(b"{") > max_depth:
        deepest = _depth(raw)
        if deepest > max_depth:
            raise JSONInputError(what, f"nests {deepest} levels deep, over the limit of {max_depth}")
    try:
        if text.startswith("\ufeff"):  # a second byte order mark: refused by json.loads, as before
            return json.loads(text)
        return _DECODERS[bool(decimal)].decode(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JSONInputError(what, "nests too deep") from None
    except ValueError as exc:
        raise JSONInputError(what, f"is not valid JSON: {exc}") from None
