"""Read ``components.schemas`` of a block-style OpenAPI YAML file without a YAML library.

The project declares no YAML dependency, and the published files (../shared/chile) only use the block style:
mappings, sequences (also "indentless" under a key), plain and quoted scalars (possibly continued on more
indented lines), block scalars (``>``, ``|`` with chomping indicators) and the flow forms ``[]``/``[a, b]``/
``{}``. That subset is what this reader understands; it is enough for the schema checks of the fakes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_BLOCK = re.compile(r"[>|][+-]?\d*")
_KEY = re.compile(r"""^(?P<key>'[^']*'|"[^"]*"|[^'"\s][^:]*?):(?:\s+(?P<value>.*))?$""")


class _Lines:
    def __init__(self, text: str) -> None:
        self.items: list[tuple[int, str]] = []
        for raw in text.splitlines():
            stripped = raw.lstrip(" ")
            self.items.append((len(raw) - len(stripped), stripped.rstrip()))
        self.pos = 0

    def skip_blank(self) -> None:
        while self.pos < len(self.items) and (
            not self.items[self.pos][1] or self.items[self.pos][1].startswith("#")
        ):
            self.pos += 1

    def peek(self) -> tuple[int, str] | None:
        self.skip_blank()
        return self.items[self.pos] if self.pos < len(self.items) else None


def _scalar(text: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        try:
            return json.loads(text)  # YAML's double-quoted escapes are JSON's for these files
        except ValueError:
            return text[1:-1]
    if text in ("true", "True"):
        return True
    if text in ("false", "False"):
        return False
    if text in ("null", "~", "Null"):
        return None
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(part.strip()) for part in text[1:-1].split(",") if part.strip()]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _block_scalar(lines: _Lines, parent_indent: int, style: str) -> str:
    collected: list[str] = []
    content_indent: int | None = None
    while lines.pos < len(lines.items):
        indent, text = lines.items[lines.pos]
        if text and indent <= parent_indent:
            break
        if text:
            content_indent = indent if content_indent is None else content_indent
        collected.append(text)
        lines.pos += 1
    while collected and not collected[-1]:
        collected.pop()
    if style.startswith("|"):
        return "\n".join(collected)
    return " ".join(part for part in collected if part)


def _continued(lines: _Lines, parent_indent: int, first: str) -> Any:
    """A plain or quoted scalar, with the more indented lines that continue it."""
    parts = [first]
    while lines.pos < len(lines.items):
        indent, text = lines.items[lines.pos]
        if text and indent <= parent_indent:
            break
        if text:
            parts.append(text)
        lines.pos += 1
    return _scalar(" ".join(parts))


def _value(lines: _Lines, indent: int, inline: str | None) -> Any:
    """The value of a key (or sequence item) at ``indent`` whose inline text is ``inline``."""
    if inline and _BLOCK.fullmatch(inline):
        return _block_scalar(lines, indent, inline)
    if inline:
        return _continued(lines, indent, inline)
    nxt = lines.peek()
    if nxt is None:
        return None
    child_indent, text = nxt
    if child_indent > indent or (child_indent == indent and (text == "-" or text.startswith("- "))):
        return _node(lines, child_indent)
    return None


def _node(lines: _Lines, indent: int) -> Any:
    first = lines.peek()
    assert first is not None
    if first[1] == "-" or first[1].startswith("- "):
        return _sequence(lines, indent)
    return _mapping(lines, indent)


def _mapping(
    lines: _Lines, indent: int, first_inline: tuple[str, str | None] | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if first_inline is not None:
        key, inline = first_inline
        result[key] = _value(lines, indent, inline)
    while (nxt := lines.peek()) is not None:
        line_indent, text = nxt
        if line_indent != indent or text.startswith("- ") or text == "-":
            break
        match = _KEY.match(text)
        if match is None:
            raise ValueError(f"line {lines.pos + 1}: cannot read {text!r}")
        lines.pos += 1
        result[str(_scalar(match["key"].strip()))] = _value(lines, indent, match["value"])
    return result


def _sequence(lines: _Lines, indent: int) -> list[Any]:
    result: list[Any] = []
    while (nxt := lines.peek()) is not None:
        line_indent, text = nxt
        if line_indent != indent or not (text == "-" or text.startswith("- ")):
            break
        lines.pos += 1
        rest = text[1:].strip()
        item_indent = indent + 2
        match = _KEY.match(rest) if rest else None
        if not rest:
            result.append(_value(lines, indent, None))
        elif match is not None and not rest.startswith(("'", '"')):
            result.append(_mapping(lines, item_indent, (str(_scalar(match["key"].strip())), match["value"])))
        else:
            result.append(_continued(lines, indent, rest))
    return result


def load_schemas(path: Path) -> dict[str, Any]:
    """``components.schemas`` of the OpenAPI file at ``path``."""
    text = path.read_text(encoding="utf-8")
    start = re.search(r"^components:\s*$", text, re.MULTILINE)
    if start is None:
        raise ValueError(f"{path}: no components section")
    section = text[start.end() :]
    end = re.search(r"^\S", section, re.MULTILINE)
    lines = _Lines(section[: end.start()] if end else section)
    components = _node(lines, lines.peek()[0])  # type: ignore[index]
    return components["schemas"]  # type: ignore[no-any-return]
