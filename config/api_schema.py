"""The OpenAPI schema class.

Kept apart from core.api: drf-spectacular imports DRF's views, which import the pagination.
"""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema

from core.api import ErrorSerializer

ERROR_MEANING = {
    "400": "Ungültige Eingabe (Feld, Filter, Seitengröße) oder fehlender Pflichtkommentar; `fields` nennt die Felder.",
    "401": "Nicht angemeldet: Token oder Sitzung fehlt oder ist ungültig.",
    "403": "Die Rolle erlaubt diesen Schritt nicht (auch: Vier-Augen-Prinzip, fehlendes CSRF-Token bei Sitzungen).",
    "404": "Nicht gefunden oder nicht sichtbar (beides gleich beantwortet), oder die Seite gibt es nicht.",
    "409": "Jetzt nicht möglich: Status, fehlende Voraussetzungen, oder die Mittelausstattung reicht nicht.",
    "429": "Zu viele fehlgeschlagene Anmeldeversuche: Name und Adresse sind eine Weile gesperrt (Retry-After in s).",
}


class Schema(AutoSchema):
    """drf-spectacular's schema plus the error responses each operation can give, all in ErrorSerializer's shape.

    A view lists extra statuses in ``error_statuses`` (e.g. 409 for transitions); 400, 401, 403
    and 404 apply to every operation here (bad filters or page, no login, role, not visible).
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        statuses = {"400", "401", "403", "404"}
        statuses |= {str(s) for s in getattr(self.view, "error_statuses", {}).get(self._action_name(), ())}
        for status in sorted(statuses):
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status, direction=direction)
                responses[status]["description"] = ERROR_MEANING[status]
        return responses

    def _action_name(self) -> str:
        return getattr(self.view, "action", None) or self.method.lower()


class SecondFactorSessionScheme(SessionScheme):
    """The site's session cookie (config.api_auth); staff sessions count once confirmed with the second factor."""

    target_class = "config.api_auth.SessionAuthentication"

    def get_security_definition(self, auto_schema):
        return {
            **super().get_security_definition(auto_schema),
            "description": "Die Sitzung der Website; bei Mitarbeitenden erst nach dem Code der Authenticator-App.",
        }
