"""Locale objects by code, parsed once: Babel's parser scans every known locale name."""
from __future__ import annotations

from functools import lru_cache

from babel import Locale


@lru_cache(maxsize=64)
def parse(code: str) -> Locale:
    return Locale.parse(code)
