"""View helpers every app's pages share."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .tenancy import may_use_workspace


def workspace_view(view):
    """Logged-in municipal staff only; everyone else is refused (403), anonymous users log in first."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_use_workspace(request.user):
            raise PermissionDenied(_("Der Arbeitsplatz ist den Mitarbeitenden der Kommune vorbehalten."))
        return view(request, *args, **kwargs)

    return wrapper
