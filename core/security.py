"""Login throttling (django-axes): who a login attempt counts against, and the German answer to a lockout.

Failed logins are counted per login name and client address, alike on the login page (owners and staff,
django-allauth), the admin's login and the API's token endpoint. After ``AXES_FAILURE_LIMIT`` failures that
pair is locked for ``AXES_COOLOFF_TIME``; the answer is 429 with a page, or JSON on the API.
"""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.authtoken.views import ObtainAuthToken

from .parsers import JSONParser, MultiPartParser


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the address the nearest proxy saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so the entry
    ``TRUSTED_PROXY_COUNT`` places from the right is the client; anything further left came from the
    client itself and could be made up to dodge the lockout.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")


def login_name(request, credentials) -> str:
    """The login name an attempt counts against, case-folded: "Alice@Example.de" and "alice@example.de" are one."""
    name = (credentials or {}).get("username")
    if name is None:
        data = getattr(request, "data", None) or request.POST
        name = data.get("login") or data.get("username") or ""
    return str(name).strip().casefold()


def lockout_minutes(request=None) -> int:
    cool_off = get_cool_off(request)
    return max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0


def lockout_message(request=None) -> str:
    return _(
        "Zu viele fehlgeschlagene Anmeldeversuche: Die Anmeldung mit diesem Namen ist von Ihrem Anschluss aus "
        "für %(minutes)s Minuten gesperrt. Versuchen Sie es danach noch einmal."
    ) % {"minutes": lockout_minutes(request)}


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 with a German page, or the API's JSON error format under /api/."""
    message = lockout_message(request)
    cool_off = get_cool_off(request)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "reasons": [message]}, status=429)
    else:
        response = render(request, "account/lockout.html", {"message": message}, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


class LockedOut(exceptions.Throttled):
    default_code = "locked_out"


class ObtainAuthTokenView(ObtainAuthToken):
    """POST /api/auth/token/: DRF's token login, answering a lockout with 429 and a German message.

    DRF hands authenticate() its own request object, so django-axes' flag never reaches the Django
    request its middleware looks at; the lockout is answered here instead.
    """

    error_statuses = {"post": (429,)}
    # DRF's view names its own parsers; these answer every unreadable body with a 400 (core.parsers).
    parser_classes = (parsers.FormParser, MultiPartParser, JSONParser)

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            if getattr(request, "axes_locked_out", False):
                locked = LockedOut(detail=lockout_message(request))
                cool_off = get_cool_off(request)
                # Set after construction: as an argument DRF would append an English "Expected available in …".
                locked.wait = (  # type: ignore[attr-defined]
                    int(cool_off.total_seconds()) if cool_off else None
                )
                raise locked from None
            raise
