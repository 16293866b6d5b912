"""A string wrapper that never shows its value in repr(), str(), logs or tracebacks."""

from __future__ import annotations

import os

from cr_einvoice.core.errors import ConfigError

__all__ = ["Secret"]


class Secret:
    """Holds a PIN, password, token or API key. Call :meth:`reveal` only where the value is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret takes a str")
        self._value = value

    @classmethod
    def from_env(cls, name: str) -> Secret:
        """Read the secret from environment variable ``name``; errors name the variable, never the value."""
        value = os.environ.get(name)
        if value is None or value == "":
            raise ConfigError(f"environment variable {name} is not set (it should hold a secret)")
        return cls(value)

    @classmethod
    def coerce(cls, value: str | Secret) -> Secret:
        return value if isinstance(value, Secret) else cls(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Picklable for worker processes; the value crosses process boundaries only in memory.
        return (Secret, (self._value,))
