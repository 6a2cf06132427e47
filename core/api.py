"""The REST API's common ground: one error format, pagination, and the schema that documents every error.

Every error answers ``{"detail": "...", "reasons": ["..."]}`` in words a person can read;
validation errors add ``fields`` with the messages per input field. The status says what
happened: 400 bad input, 401 not logged in, 403 the role does not allow it, 404 not found
or not visible (alike), 409 not possible in this state or not covered by the allocation,
413 a body too large (also when Django refuses it before DRF, see ``bad_request``).
"""

from __future__ import annotations

import datetime as dt
import re

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, filters, pagination, serializers
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    detail = serializers.CharField(help_text="Was schiefging, in einem Satz.")
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Jeder Grund einzeln.")
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="Bei ungültigen Eingaben: die Meldungen je Eingabefeld (auch verschachtelt)."
    )


def _flatten(errors, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [m for key, value in errors.items() for m in _flatten(value, f"{prefix}{key}." if key != "" else prefix)]
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            label = prefix.rstrip(".").removesuffix("non_field_errors").removesuffix("__all__").rstrip(".")
            return [f"{label}: {e}" if label else str(e) for e in errors]
        return [m for index, value in enumerate(errors) for m in _flatten(value, f"{prefix}{index}.")]
    return [f"{prefix.rstrip('.')}: {errors}" if prefix else str(errors)]


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"


def _too_large_message(exc: Exception) -> str:
    if isinstance(exc, RequestDataTooBig):
        megabytes = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024 / 1024:.1f}".replace(".", ",")
        return _("Die Anfrage ist zu groß: höchstens %(megabytes)s MB ohne Dateien.") % {"megabytes": megabytes}
    return _("Die Anfrage hat zu viele Felder oder Dateien.")


# Django's refusals of a body too large (bytes, fields or files), raised when DRF reads the body.
TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def exception_handler(exc, context):
    """Turn refused transitions, Django's validation errors and every DRF error into the one error format."""
    if isinstance(exc, TOO_LARGE):
        exc = RequestTooLarge(_too_large_message(exc))
    if isinstance(exc, DomainError):
        response = drf_exception_handler(exceptions.APIException(), context)
        assert response is not None  # DRF answers every APIException
        response.status_code = exc.status
        response.data = {"detail": " ".join(exc.reasons), "reasons": exc.reasons}
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        reasons = _flatten(fields)
        response.data = {
            "detail": _("Die Eingaben sind nicht vollständig oder nicht gültig: %(first)s")
            % {"first": reasons[0] if reasons else ""},
            "reasons": reasons,
            "fields": fields,
        }
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)
        response.data = {"detail": str(detail), "reasons": [str(detail)]}
    return response


def not_found(request, exception=None):
    """Unknown addresses under /api/ answer in the API's error format; the rest gets the normal page."""
    if request.path.startswith("/api/"):
        message = _("Nicht gefunden.")
        return JsonResponse({"detail": message, "reasons": [message]}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """Django's refusals outside DRF (a body too large read by a middleware) answer in JSON under /api/."""
    if request.path.startswith("/api/"):
        too_large = isinstance(exception, TOO_LARGE)
        message = _too_large_message(exception) if too_large else _("Die Anfrage ist nicht gültig.")
        return JsonResponse({"detail": message, "reasons": [message]}, status=413 if too_large else 400)
    return defaults.bad_request(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        message = _("Ein interner Fehler ist aufgetreten; bitte versuchen Sie es später noch einmal.")
        return JsonResponse({"detail": message, "reasons": [message]}, status=500)
    return defaults.server_error(request)


class Pagination(pagination.PageNumberPagination):
    """Pages of 50, at most 500; a page or page size that is not one whole number in range is a 400, never ignored.

    DRF's own falls back to the first page or the default size for ``page_size=null``, ``page_size=0``,
    ``page_size=9999`` or ``page_size=1&page_size=2``; a caller would not notice the answer is not what
    they asked for. A page beyond the last is a 404 (DRF's "Ungültige Seite.").
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()  # a page is a number, as the schema says

    def get_page_size(self, request):
        return self._whole_number(request, self.page_size_query_param, self.max_page_size) or self.page_size

    def get_page_number(self, request, paginator):
        return self._whole_number(request, self.page_query_param) or 1

    def _whole_number(self, request, name: str, maximum: int | None = None) -> int | None:
        values = request.query_params.getlist(name)
        if not values:
            return None
        if len(values) > 1:
            raise exceptions.ValidationError({name: [_("Bitte nur einmal angeben.")]})
        if name == self.page_query_param and re.fullmatch(r"[1-9][0-9]{18,}", values[0]):
            raise exceptions.NotFound(_("Ungültige Seite."))  # a whole number, only far beyond the last page
        if not re.fullmatch(r"[0-9]{1,18}", values[0]) or not 1 <= int(values[0]) <= (maximum or MAX_ID):
            if maximum:
                message = _("Bitte eine ganze Zahl von 1 bis %(maximum)s angeben.") % {"maximum": maximum}
            else:
                message = _("Bitte eine ganze Zahl ab 1 angeben.")
            raise exceptions.ValidationError({name: [message]})
        return int(values[0])

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


MAX_ID = 2**63 - 1


class FilterSet(django_filters.FilterSet):
    """A filter given twice, or given empty where it is not a text, is a 400: DRF would take the last, or none."""

    def is_valid(self):
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)]
            if name not in self.data:
                continue
            if len(values) > 1:
                self.form.add_error(name, _("Bitte nur einmal angeben."))
                valid = False
            elif values[0] == "" and not _is_text(filter_.field):
                self.form.add_error(name, _("Bitte einen Wert angeben oder den Filter weglassen."))
                valid = False
        return valid


def _is_text(field: forms.Field) -> bool:
    return isinstance(field, forms.CharField)


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet


class KeysetPagination(pagination.CursorPagination):
    """Pages by keyset, newest first: the newest page is as fast at 100,000 rows as at 100 (no COUNT, no OFFSET).

    ``next`` and ``previous`` carry an opaque cursor; a page size out of range is a 400 as with ``Pagination``.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"

    def get_page_size(self, request):
        return Pagination().get_page_size(request)  # the same strict page size, 1 to 500

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class OrderingFilter(filters.OrderingFilter):
    """Ordering given twice is a 400, like every other parameter."""

    def get_ordering(self, request, queryset, view):
        if len(request.query_params.getlist(self.ordering_param)) > 1:
            raise exceptions.ValidationError({self.ordering_param: [_("Bitte nur einmal angeben.")]})
        return super().get_ordering(request, queryset, view)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An id to filter by: a whole number the database can hold, else a 400; another town's id finds nothing."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, taken as UTC: an offset the database cannot hold (e.g. +21:24) is no 500."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(_("Datum und Uhrzeit liegen außerhalb des gültigen Bereichs.")) from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


ID = r"[0-9]{1,18}"


class NotFoundAlike:
    # Missing and not visible answer alike, in words.

    not_found_message = ""

    def get_object(self):
        try:
            return super().get_object()  # type: ignore[misc]
        except (Http404, exceptions.NotFound):
            raise exceptions.NotFound(self.not_found_message or _("Nicht gefunden.")) from None


def Money(**kwargs):  # noqa: N802 - reads like a field class
    """Money as a decimal string with two places, never a float."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)
