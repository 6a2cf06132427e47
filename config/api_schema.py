"""The OpenAPI schema class.

Kept apart from core.api: drf-spectacular imports DRF's views, which import the pagination.
"""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from rest_framework import serializers

from core.api import ErrorSerializer

ERROR_MEANING = {
    "400": "Ungültige Eingabe (Feld, Filter, Seitengröße) oder fehlender Pflichtkommentar; `fields` nennt die Felder.",
    "401": "Nicht angemeldet: Token oder Sitzung fehlt oder ist ungültig.",
    "403": "Die Rolle erlaubt diesen Schritt nicht (auch: Vier-Augen-Prinzip, fehlendes CSRF-Token bei Sitzungen).",
    "404": "Nicht gefunden oder nicht sichtbar (beides gleich beantwortet), oder die Seite gibt es nicht.",
    "409": "Jetzt nicht möglich: Status, fehlende Voraussetzungen, oder die Mittelausstattung reicht nicht.",
    "413": "Die Anfrage ist zu groß (mehr als 2,5 MB ohne Dateien, oder zu viele Felder).",
    "415": "Der Inhalt hat einen Medientyp, den dieser Aufruf nicht annimmt (siehe requestBody).",
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
        if self.method in ("POST", "PUT", "PATCH"):
            statuses |= {"413", "415"}  # a body too large, or of a media type the operation does not take
        for status in sorted(statuses):
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status, direction=direction)
                responses[status]["description"] = ERROR_MEANING[status]
        return responses

    def _action_name(self) -> str:
        return getattr(self.view, "action", None) or self.method.lower()

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """A list of nested objects (``many=True``) states its length limits, as a ListField's do."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if is_list_serializer(field) and schema and direction == "request":
            minimum = field.min_length or (0 if field.allow_empty else 1)
            if minimum:
                schema["minItems"] = minimum
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        if isinstance(field, serializers.DecimalField) and direction == "request" and "pattern" in schema:
            schema["pattern"] = _decimal_pattern(field)
        return schema


def _decimal_pattern(field) -> str:
    """A decimal string as DRF reads it: at least one digit, no sign when the minimum is not negative."""
    whole = field.max_digits - field.decimal_places
    places = field.decimal_places
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    return rf"^{sign}(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"


class StatementRequestScheme(OpenApiSerializerExtension):
    """A statement is for one programme or for all of one municipality: exactly one of the two."""

    target_class = "budgets.serializers.StatementRequestSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["oneOf"] = [{"required": ["programme"]}, {"required": ["municipality"]}]
        return schema


class SecondFactorSessionScheme(SessionScheme):
    """The site's session cookie (config.api_auth); staff sessions count once confirmed with the second factor."""

    target_class = "config.api_auth.SessionAuthentication"

    def get_security_definition(self, auto_schema):
        return {
            **super().get_security_definition(auto_schema),
            "description": "Die Sitzung der Website; bei Mitarbeitenden erst nach dem Code der Authenticator-App.",
        }
