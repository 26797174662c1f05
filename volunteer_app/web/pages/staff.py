"""Coordinator and admin pages: approvals, teams and members, users."""
from __future__ import annotations

from . import bp  # noqa: F401
