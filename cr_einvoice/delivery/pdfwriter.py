"""A small PDF 1.4 writer for the graphic representation: pages of text, lines and filled rectangles in the
two embedded fonts, nothing else.

Why our own: a document of the representation is a few hundred texts at known places; a general PDF library
pays per document for what does not change between documents (preparing the embedded fonts, above all,
which reportlab subsets again for every file). Here the font objects are prepared ONCE per process and
kept as bytes; a document only adds its pages.

Fonts: Bitstream Vera Sans and Vera Sans Bold, the TrueType fonts reportlab ships (Bitstream Vera licence,
free to embed), read once with reportlab's TrueType reader and cut to one 256-glyph subset in the order of
Windows-1252: every Spanish letter (á é í ó ú ñ ü ¿ ¡ and capitals), €, the dashes, quotes, ×, °. Each font
is a simple TrueType font with its widths and a ToUnicode map, so any viewer draws the accents and a text
extractor reads the words back. A character outside Windows-1252 (the fonts have no glyph for most of them
either) is printed as its base letter when it has one (``ő`` → ``o``) and as ``?`` otherwise; ``₡`` is
never used: amounts carry the currency code.

Coordinates are PDF points from the page's lower-left corner. Content streams are Flate-compressed.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from encodings import cp1252

__all__ = ["BOLD", "REGULAR", "Document", "Font", "Page", "get_font", "text_width"]

#: The fonts' names (also the names the page layouts register them under in reportlab).
REGULAR = "CRVera"
BOLD = "CRVera-Bold"
_FILES = {REGULAR: ("Vera.ttf", b"F1"), BOLD: ("VeraBd.ttf", b"F2")}
#: The subset's codes in Windows-1252 order (a code Windows-1252 leaves undefined maps to no glyph).
_CODES = tuple(ord(bytes([b]).decode("cp1252", errors="replace")) if b >= 32 else b for b in range(256))
#: Windows-1252 encoding, called without the codec machinery (the writer encodes thousands of texts).
_CP1252 = cp1252.encoding_table
_charmap_encode = codecs.charmap_encode
#: Object numbers: 1 catalog, 2 page tree, 3 information, 4-11 the two fonts, pages from 12.
_FIRST_PAGE_OBJECT = 12


@dataclass(frozen=True, slots=True)
class Font:
    """One embedded font: its name (``REGULAR`` or ``BOLD``), its resource name, the width of each code
    (thousandths of the font size) and its PDF objects, ready as bytes.

    ``high`` and ``low``: each code's width in whole font units (``unit`` thousandths each), split into its
    high and low byte as two translation tables, so the width of an encoded text is two C-level sums
    (``bytes.translate`` then ``sum``) instead of a Python-level lookup per character: a third of the
    time. Each width is a whole number of font units, so both sums are exact and give the very same
    float as adding the widths one by one."""

    name: str
    key: bytes
    widths: tuple[float, ...]
    objects: tuple[bytes, ...]
    high: bytes
    low: bytes
    unit: float

    def encode(self, text: str) -> bytes:
        """``text`` in the font's codes (Windows-1252), substituting what it cannot show."""
        try:
            return _charmap_encode(text, "strict", _CP1252)[0]
        except UnicodeEncodeError:
            return "".join(_substitute(ch) for ch in text).encode("cp1252")

    def units(self, data: bytes) -> float:
        """The width of ``data`` (text in the font's codes) in thousandths of the font size."""
        return (sum(data.translate(self.high)) * 256 + sum(data.translate(self.low))) * self.unit

    def width(self, text: str, size: float) -> float:
        """The width of ``text`` at ``size`` points."""
        return self.units(self.encode(text)) * size / 1000.0


def _substitute(ch: str) -> str:
    try:
        ch.encode("cp1252")
        return ch
    except UnicodeEncodeError:
        base = unicodedata.normalize("NFKD", ch)[:1]
        return base if base and base.isascii() and base.isprintable() else "?"


@functools.cache
def _font(name: str) -> Font:
    """The embedded font ``REGULAR`` or ``BOLD``, prepared once per process (thread-safe: preparing twice
    gives equal bytes)."""
    import reportlab
    from reportlab.pdfbase.ttfonts import TTFontFile, makeToUnicodeCMap

    file, key = _FILES[name]
    face = TTFontFile(os.path.join(os.path.dirname(reportlab.__file__), "fonts", file))
    base = b"AAAAAA+" + face.name
    first = 4 if name == REGULAR else 8
    program = face.makeSubset(list(_CODES))
    cmap = makeToUnicodeCMap(base.decode("ascii"), list(_CODES)).encode("ascii")
    widths = tuple(
        float(face.charWidths.get(code, face.defaultWidth)) if code >= 32 else 0.0 for code in _CODES
    )
    unit = 1000.0 / face.unitsPerEm
    units = [round(w / unit) for w in widths]
    if any(u * unit != w or not 0 <= u < 65536 for u, w in zip(units, widths, strict=True)):
        raise ValueError(f"{file}: a width is not a whole number of font units")
    high, low = bytes(u >> 8 for u in units), bytes(u & 255 for u in units)
    flags = (face.flags & ~32) | 4  # symbolic: the codes are the subset's own
    bbox = " ".join(_num(v) for v in face.bbox)
    font_dict = (
        b"<< /Type /Font /Subtype /TrueType /BaseFont /"
        + base
        + b" /FirstChar 0 /LastChar 255 /Widths ["
        + b" ".join(_num(w).encode() for w in widths)
        + f"] /FontDescriptor {first + 1} 0 R /ToUnicode {first + 3} 0 R >>".encode()
    )
    descriptor = (
        f"<< /Type /FontDescriptor /FontName /{base.decode()} /Flags {flags} /FontBBox [{bbox}] "
        f"/ItalicAngle {_num(face.italicAngle)} /Ascent {_num(face.ascent)} /Descent {_num(face.descent)} "
        f"/CapHeight {_num(face.capHeight)} /StemV {face.stemV} /MissingWidth {_num(face.defaultWidth)} "
        f"/FontFile2 {first + 2} 0 R >>"
    ).encode()
    objects = (
        _object(first, font_dict),
        _object(first + 1, descriptor),
        _stream(first + 2, program, extra=f"/Length1 {len(program)} ".encode(), once=True),
        _stream(first + 3, cmap, once=True),
    )
    return Font(name, key, widths, objects, high, low, unit)


def get_font(name: str) -> Font:
    """The embedded font ``REGULAR`` or ``BOLD`` (prepared on first use, then shared by the process)."""
    return _font(name)


def text_width(text: str, name: str, size: float) -> float:
    """The width of ``text`` set in font ``name`` (``REGULAR`` or ``BOLD``) at ``size`` points."""
    return _font(name).width(text, size)


@functools.cache
def _select(key: bytes, size: float) -> bytes:
    """The operators that select a font and size (and the leading), up to a text's opening parenthesis."""
    return b"/%s %.5g Tf %.5g TL (" % (key, size, size * 1.2)


def _num(value: float) -> str:
    """A PDF number: at most 3 decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _object(number: int, body: bytes) -> bytes:
    return b"%d 0 obj\n%s\nendobj\n" % (number, body)


def _stream(number: int, data: bytes, extra: bytes = b"", *, once: bool = False) -> bytes:
    """A Flate-compressed stream object: the fonts (``once`` per process) at zlib's best level; a page's
    content as fast as it goes (:func:`_deflate`)."""
    packed = zlib.compress(data, 9) if once else _deflate(data)
    head = b"<< /Filter /FlateDecode %s/Length %d >>\nstream\n" % (extra, len(packed))
    return _object(number, head + packed + b"\nendstream")


def _deflate(data: bytes) -> bytes:
    """A page's content in zlib format: by ISA-L (``isal``, in the ``[pdf]`` extra) at its level 0 under
    :data:`_SMALL` bytes and 1 above, zlib's level 1 without it. A 3-line ticket's 11 kB: zlib 1 takes
    33 µs for 2.8 kB, ISA-L 0 10 µs for 3.2 kB (a twentieth of the file, mostly fonts), ISA-L 1 17 µs for
    2.5 kB."""
    if _isal_compress is None:
        return zlib.compress(data, 1)
    return _isal_compress(data, 0 if len(data) < _SMALL else 1)


#: Up to this many bytes a page's content takes ISA-L's cheapest level.
_SMALL = 32 * 1024


def _isal() -> Callable[[bytes, int], bytes] | None:
    """ISA-L's zlib-format compressor, when installed."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - the [pdf] extra installs it
        return None
    compress: Callable[[bytes, int], bytes] = isal_zlib.compress
    return compress


_isal_compress = _isal()


#: Finds a byte a literal string must escape (one search: four ``in`` tests cost five times more).
_NEEDS_ESCAPE = re.compile(rb"[()\\\r]").search


def _literal(data: bytes) -> bytes:
    """A PDF literal string's body."""
    if _NEEDS_ESCAPE(data):
        data = data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")
    return data


class Page:
    """One page: draw on it with :meth:`text`, :meth:`line`, :meth:`rect`, :meth:`cells`."""

    __slots__ = ("_ops", "height", "width")

    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height
        self._ops: list[bytes] = [b"0.25 w\n"]

    def text(
        self, x: float, y: float, text: str, *, font: str, size: float, align: str = "left", gray: float = 0.0
    ) -> None:
        """``text`` on the baseline ``y``: starting at ``x`` (``left``), ending at it (``right``) or centred
        on it (``center``); ``gray`` 0 is black."""
        f = _font(font)
        data = f.encode(text)
        if align != "left":
            width = f.units(data) * size / 1000.0
            x -= width if align == "right" else width / 2
        body = self.show(x, y, data, f, size)
        if gray:
            self._ops[-1] = b"%.3f g " % gray + body + b"0 g\n"

    def show(self, x: float, y: float, data: bytes, font: Font, size: float) -> bytes:
        """Text already in ``font``'s codes (:meth:`Font.encode`), in black, starting at ``x`` on the
        baseline ``y``: for a layout that measured it already. Returns the operators added."""
        body = b"BT 1 0 0 1 %.5g %.7g Tm %s%s) Tj T* ET\n" % (x, y, _select(font.key, size), _literal(data))
        self._ops.append(body)
        return body

    def paragraph(
        self,
        x: float,
        y: float,
        lines: Sequence[tuple[float, Sequence[tuple[str, str]]]],
        *,
        size: float,
        leading: float,
        gray: float = 0.0,
    ) -> None:
        """Lines of mixed-font runs in one text object, the first on the baseline ``y``, each ``leading``
        below the last; a line's own offset from ``x`` (its alignment) comes with it."""
        out = [b"BT 1 0 0 1 %.5g %.7g Tm %.5g TL %.3f g" % (x, y, leading, gray)]
        for offset, runs in lines:
            if offset:
                out.append(b"%.5g 0 Td" % offset)
            for text, name in runs:
                f = _font(name)
                out.append(b"/%s %.5g Tf (%s) Tj" % (f.key, size, _literal(f.encode(text))))
            out.append(b"T*" if not offset else b"T* %.5g 0 Td" % -offset)
        out.append(b"ET 0 g\n")
        self._ops.append(b" ".join(out))

    @staticmethod
    def width_of(text: str, font: str, size: float) -> float:
        """The width of ``text`` in ``font`` at ``size`` points."""
        return _font(font).width(text, size)

    def line(
        self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.25, gray: float = 0.0
    ) -> None:
        """A line ``width`` points thick in ``gray`` (0 black)."""
        self._ops.append(
            b"%.3f G %.2f w %.3f %.3f m %.3f %.3f l S 0 G 0.25 w\n" % (gray, width, x1, y1, x2, y2)
        )

    def rect(self, x: float, y: float, w: float, h: float, gray: float) -> None:
        """A filled rectangle in ``gray`` (0 black, 1 white)."""
        self._ops.append(b"%.3f g %.3f %.3f %.3f %.3f re f 0 g\n" % (gray, x, y, w, h))

    def cells(self, x: float, y: float, unit: float, path: bytes) -> None:
        """Black grid cells filled as one path (a QR code's modules, from
        :func:`~cr_einvoice.delivery.qr.qr_path`): ``path`` is rectangle operators (``re``, one a line) in
        cells ``unit`` points square, counted from the grid's lower-left corner (x, y). The grid is scaled
        once, so the path is in whole numbers."""
        self._ops.append(b"q 0 g %.5g 0 0 %.5g %.5g %.5g cm\n%sf Q\n" % (unit, unit, x, y, path))

    def place(self, height: float, *, top: float) -> None:
        """Give the page its ``height`` when it is known only once drawn: what was drawn so far, placed
        from a line ``top`` points up the page (y down from it negative), is moved there; what is drawn
        after is in ordinary page coordinates."""
        self.height = height
        self._ops.insert(0, b"q 1 0 0 1 0 %.7g cm\n" % top)
        self._ops.append(b"Q\n")

    def content(self) -> bytes:
        return b"".join(self._ops)


class Document:
    """A PDF being written: pages in order, the information dictionary, the embedded fonts."""

    def __init__(
        self,
        *,
        title: str,
        author: str,
        subject: str,
        creator: str = "cr-einvoice",
        lang: str = "es-CR",
        deterministic: bool = False,
    ) -> None:
        self.pages: list[Page] = []
        self._info = {"Title": title, "Author": author, "Subject": subject, "Creator": creator}
        self._info["Producer"] = "cr-einvoice"
        self._lang = lang
        self._deterministic = deterministic

    def page(self, width: float, height: float) -> Page:
        """A new page at the end of the document."""
        page = Page(width, height)
        self.pages.append(page)
        return page

    def to_bytes(self) -> bytes:
        """The PDF file: the header and the fonts' objects (the same bytes in every file, :func:`_prefix`),
        then the catalog, page tree, information and pages."""
        prefix, font_offsets = _prefix()
        count = len(self.pages)
        kids = " ".join(f"{_FIRST_PAGE_OBJECT + 2 * i} 0 R" for i in range(count))
        info = dict(self._info)
        if not self._deterministic:
            info["CreationDate"] = datetime.now(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
        catalog = b"<< /Type /Catalog /Pages 2 0 R /Lang %s >>" % _text_string(self._lang)
        objects: list[bytes] = [
            _object(1, catalog),
            _object(2, f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode()),
            _object(
                3,
                b"<< "
                + b" ".join(b"/%s %s" % (k.encode(), _text_string(v)) for k, v in info.items())
                + b" >>",
            ),
        ]
        resources = b"/Resources << /Font << /F1 4 0 R /F2 8 0 R >> /ProcSet [/PDF /Text] >>"
        for i, page in enumerate(self.pages):
            number = _FIRST_PAGE_OBJECT + 2 * i
            box = f"/MediaBox [0 0 {_num(page.width)} {_num(page.height)}]".encode()
            objects.append(
                _object(
                    number,
                    b"<< /Type /Page /Parent 2 0 R %s %s /Contents %d 0 R >>" % (box, resources, number + 1),
                )
            )
            objects.append(_stream(number + 1, page.content()))
        at = len(prefix)
        offsets = []
        for obj in objects:
            offsets.append(at)
            at += len(obj)
        offsets[3:3] = font_offsets  # the cross-reference table goes by object number
        size = len(offsets) + 1
        xref = b"xref\n0 %d\n0000000000 65535 f \n" % size + b"".join(
            b"%010d 00000 n \n" % o for o in offsets
        )
        parts = [prefix, *objects, xref]
        ident = self._identifier(parts)
        trailer = b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
        parts.append(trailer % (size, ident, ident, at))
        return b"".join(parts)  # the file copied once (it is mostly the fonts' 56 kB)

    def _identifier(self, parts: list[bytes]) -> bytes:
        """The file identifier: a digest of the content in deterministic mode, random otherwise."""
        if self._deterministic:
            import hashlib

            digest = hashlib.md5(usedforsecurity=False)
            for part in parts:
                digest.update(part)
            return digest.hexdigest().encode()
        return os.urandom(16).hex().encode()


@functools.cache
def _prefix() -> tuple[bytes, tuple[int, ...]]:
    """The start every file shares: the header and the two fonts' objects (4 to 11), with their offsets;
    built once per process, so a document copies it instead of gathering the fonts' objects again."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for obj in (*_font(REGULAR).objects, *_font(BOLD).objects):
        offsets.append(len(out))
        out += obj
    return bytes(out), tuple(offsets)


def _text_string(value: str) -> bytes:
    """A PDF text string: literal when ASCII, UTF-16 with a byte order mark otherwise."""
    if value.isascii():
        return b"(" + _literal(value.encode("ascii")) + b")"
    return b"<FEFF" + value.encode("utf-16-be").hex().upper().encode() + b">"
