"""The API's session login: for staff only once the session is confirmed with the second factor.

Kept apart from core.api: DRF's views read this class from the settings while core.api imports them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from applicants.rules import lacks_second_factor


class SecondFactorMissing(exceptions.PermissionDenied):
    default_detail = _(
        "Bitte bestätigen Sie Ihre Anmeldung zuerst mit dem Code aus Ihrer Authenticator-App (zweiter Faktor)."
    )
    default_code = "second_factor_missing"


class SessionAuthentication(authentication.SessionAuthentication):
    """The site's session, as DRF's; a staff session without the second factor is refused with 403."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and lacks_second_factor(result[0]):
            raise SecondFactorMissing
        return result
