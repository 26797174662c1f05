"""Data models that validate API input and describe API output (and so the OpenAPI document).

One module per domain; everything shared lives in :mod:`.common`.
"""
from .common import ApiInput, ApiOutput, ClientRef, Problem  # noqa: F401
