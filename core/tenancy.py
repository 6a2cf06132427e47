"""Who is staff of a municipality, asked of the user model (``is_municipal_staff``, ``municipality_ids``)."""

from __future__ import annotations

from typing import Any


def may_use_workspace(user: Any) -> bool:
    """The caseworker workspace is for municipal staff (caseworker, approver, finance, auditor)."""
    return bool(user.is_authenticated and user.is_municipal_staff)


def may_use_portal(user: Any) -> bool:
    """The owner portal is for owners; municipal staff work in the workspace."""
    return bool(user.is_authenticated and not user.is_municipal_staff)
