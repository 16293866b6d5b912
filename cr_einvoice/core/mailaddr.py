"""E-mail addresses that reach an SMTP envelope or a message header: the one hardened path.

Addresses come from untrusted places (a customer's voucher, a command line, a configuration file) and end
up in ``RCPT TO`` and in ``To:``; a carriage return or line feed there would let the text add headers or
SMTP commands. :func:`mail_address` accepts only a plain ``local@domain`` -- no display name, comment,
quoted local part, group or list -- and returns it normalised (domain in lower case, IDNA-encoded to ASCII).
Everything else is refused with a :class:`~cr_einvoice.core.errors.ValidationError` naming the field.
"""

from __future__ import annotations

import re

from cr_einvoice.core.errors import Problem, ValidationError

__all__ = ["mail_address", "mail_addresses"]

#: RFC 5321 limits: 64 octets of local part, 255 of domain, 254 for the whole path.
_MAX_LOCAL = 64
_MAX_ADDRESS = 254
#: The local part as a dot-atom of RFC 5322 ``atext`` (no quoted strings, no comments).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.ASCII)
#: One LDH label (letters, digits, hyphens; no hyphen at either end), at most 63 octets.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError([Problem(field, message)])


def mail_address(value: object, *, field: str = "address") -> str:
    """``value`` as a safe ``local@domain`` address (domain lower case, ASCII), or ValidationError naming
    ``field``. Control characters (CR, LF, NUL, ...) are refused before anything else looks at the text."""
    if not isinstance(value, str):
        raise _refuse(field, f"an e-mail address must be text, got {type(value).__name__}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise _refuse(field, "an e-mail address must not contain control characters (CR, LF, NUL, ...)")
    text = value.strip(" ")
    shown = text if len(text) <= 80 else text[:77] + "..."
    if text.count("@") != 1:
        raise _refuse(field, f"{shown!r} is not a single e-mail address (local@domain)")
    local, domain = text.split("@")
    if not local or len(local) > _MAX_LOCAL or not _LOCAL.fullmatch(local):
        raise _refuse(field, f"{shown!r}: the part before @ is not a plain e-mail local part")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower() if domain else ""
    except UnicodeError:
        ascii_domain = ""
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise _refuse(field, f"{shown!r}: {domain!r} is not a valid mail domain")
    address = f"{local}@{ascii_domain}"
    if len(address) > _MAX_ADDRESS:
        raise _refuse(field, f"{shown!r} is longer than {_MAX_ADDRESS} characters")
    return address


def mail_addresses(values: object, *, field: str = "addresses") -> tuple[str, ...]:
    """Each of ``values`` (a sequence of text, or one text with addresses separated by commas or
    semicolons) through :func:`mail_address`, duplicates removed, order kept; every bad one is reported."""
    if isinstance(values, str):
        items: list[object] = [v for v in re.split(r"[,;]", values) if v.strip(" ")]
    elif isinstance(values, list | tuple):
        items = list(values)
    else:
        raise _refuse(field, f"expected a list of e-mail addresses, got {type(values).__name__}")
    found: dict[str, None] = {}
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            found[mail_address(item, field=f"{field}[{index}]")] = None
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    return tuple(found)
