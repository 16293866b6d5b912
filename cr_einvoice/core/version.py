"""The package version, importable from every layer without loading the public face."""

from __future__ import annotations

__version__ = "0.1.0"
