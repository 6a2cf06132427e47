"""REST endpoints of the proof-of-use statement."""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from budgets.api import XLSX, StaffOnly
from budgets.models import Statement
from budgets.rules import visible_statements
from budgets.serializers import StatementRequestSerializer, StatementSerializer
from core.api import ID, FilterSet, IdFilter, NotFoundAlike

from . import services


class StatementFilter(FilterSet):
    programme = IdFilter(field_name="programme")

    class Meta:
        model = Statement
        fields = ["programme", "year", "status"]


@extend_schema_view(
    list=extend_schema(summary="Verwendungsnachweise (angefordert, in Arbeit, fertig)"),
    retrieve=extend_schema(summary="Ein Verwendungsnachweis mit Fortschritt"),
    create=extend_schema(
        summary="Verwendungsnachweis anfordern (wird im Hintergrund erzeugt)",
        request=StatementRequestSerializer,
        responses={201: StatementSerializer},
    ),
)
class StatementViewSet(
    StaffOnly, NotFoundAlike, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Proof-of-use statements (Verwendungsnachweis): request one, watch its progress, download Excel and PDF."""

    serializer_class = StatementSerializer
    ordering_fields = ["created_at", "year", "id"]
    ordering = ["-created_at", "-id"]
    filterset_class = StatementFilter
    lookup_value_regex = ID
    not_found_message = _("Verwendungsnachweis nicht gefunden.")

    def get_queryset(self):
        return visible_statements(self.request.user)

    def create(self, request, format=None):
        data = StatementRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statement = services.statement_request(
            by=request.user,
            year=data.validated_data["year"],
            programme_id=data.validated_data.get("programme"),
            municipality_id=data.validated_data.get("municipality"),
            narrative=data.validated_data.get("narrative", ""),
        )
        return Response(StatementSerializer(statement).data, status=status.HTTP_201_CREATED)

    def _file(self, name: str, content_type: str):
        statement = self.get_object()
        file = statement.workbook if name == "workbook" else statement.pdf
        if statement.status != statement.Status.DONE or not file:
            raise exceptions.NotFound(_("Der Verwendungsnachweis ist noch nicht fertig."))
        return FileResponse(
            file.open("rb"), as_attachment=True, filename=file.name.rsplit("/", 1)[-1], content_type=content_type
        )

    @extend_schema(
        summary="Die Excel-Datei herunterladen", responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)}
    )
    @action(detail=True, methods=["get"])
    def workbook(self, request, pk=None, format=None):
        return self._file("workbook", XLSX)

    @extend_schema(
        summary="Das PDF herunterladen", responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)}
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None, format=None):
        return self._file("pdf", "application/pdf")
