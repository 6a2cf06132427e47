"""REST endpoints of payment runs: list, build, order, record the execution, download the SEPA file."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from applicants.rules import may_see_full_iban
from budgets.api import XLSX
from core.api import ID, NotFoundAlike
from core.banking import masked_iban

from . import sepa, services
from .models import PaymentItem, PaymentRun


class PaymentItemSerializer(serializers.ModelSerializer):
    file_number = serializers.CharField(source="application.file_number", read_only=True)
    iban = serializers.SerializerMethodField(
        help_text="Die IBAN; für die Prüfung bis auf die letzten vier Stellen verdeckt."
    )

    def get_iban(self, item) -> str:
        request = self.context.get("request")
        return item.iban if request is not None and may_see_full_iban(request.user) else masked_iban(item.iban)

    class Meta:
        model = PaymentItem
        fields = ["id", "application", "file_number", "payee", "iban", "bic", "amount", "purpose", "end_to_end_id",
                  "returned_on", "return_reason"]  # fmt: skip
        read_only_fields = fields


class PaymentRunSerializer(serializers.ModelSerializer):
    items = PaymentItemSerializer(many=True, read_only=True)

    class Meta:
        model = PaymentRun
        fields = ["id", "municipality", "value_date", "status", "schema", "message_id", "count", "total", "created_at",
                  "ordered_at", "executed_on", "items"]  # fmt: skip
        read_only_fields = fields


class RunRequestSerializer(serializers.Serializer):
    value_date = serializers.DateField(help_text="Ausführungstag (JJJJ-MM-TT), ein Werktag ab heute.")
    municipality = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Die Kommune; ohne Angabe die einzige des Kontos."
    )


class ExecutedSerializer(serializers.Serializer):
    executed_on = serializers.DateField(help_text="Tag der Ausführung (JJJJ-MM-TT), nicht in der Zukunft.")


class PaymentRunsOnly:
    """Finance and auditors; another town's run is not found (404) before the role is asked (403)."""

    def _role(self, request):
        if not services.may_read_runs(request.user):
            raise exceptions.PermissionDenied(_("Zahlungsläufe sehen die Finanzabteilung und die Prüfung."))

    def check_permissions(self, request):
        super().check_permissions(request)  # type: ignore[misc]
        if getattr(self, "action", None) in ("list", "create"):
            self._role(request)

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)  # type: ignore[misc]
        self._role(request)


@extend_schema_view(
    list=extend_schema(summary="Zahlungsläufe der eigenen Kommunen"),
    retrieve=extend_schema(summary="Ein Zahlungslauf mit seinen Überweisungen"),
)
class PaymentRunViewSet(
    PaymentRunsOnly, NotFoundAlike, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = PaymentRunSerializer
    lookup_value_regex = ID
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "value_date", "id"]
    not_found_message = _("Zahlungslauf nicht gefunden.")
    error_statuses = {"create": {409}, "order": {409}, "execute": {409}, "sepa": {409}}

    def get_queryset(self):
        runs = services.visible_runs if self.action == "list" else services.town_runs
        return runs(self.request.user).prefetch_related("items__application")

    def _answer(self, run, code=status.HTTP_200_OK):
        run = self.get_queryset().get(pk=run.pk)
        return Response(PaymentRunSerializer(run, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="Zahlungslauf zusammenstellen (Finanzabteilung): alle freigegebenen Zahlungen, die warten",
        request=RunRequestSerializer,
        responses={201: PaymentRunSerializer},
    )
    def create(self, request, format=None):
        data = RunRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.run_create(
            by=request.user,
            value_date=data.validated_data["value_date"],
            municipality_id=data.validated_data["municipality"],
        )
        return self._answer(run, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Anordnen (rechnerisch richtig; nie wer Rechnungen eines Antrags im Lauf bestätigt hat)",
        request=None,
        responses={200: PaymentRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def order(self, request, pk=None, format=None):
        self.get_object()  # not found, or the role refused, before the service is asked
        return self._answer(services.run_order(by=request.user, run_id=int(pk)))

    @extend_schema(
        summary="Die Ausführung erfassen; die Antragsteller/innen erhalten eine Nachricht",
        request=ExecutedSerializer,
        responses={200: PaymentRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None, format=None):
        self.get_object()
        data = ExecutedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.run_execute(by=request.user, run_id=int(pk), executed_on=data.validated_data["executed_on"])
        return self._answer(run)

    @extend_schema(
        summary="Die SEPA-Datei (pain.001), gegen ihr XSD geprüft",
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
    @action(detail=True, methods=["get"])
    def sepa(self, request, pk=None, format=None):
        run = self.get_object()
        response = HttpResponse(sepa.pain001(run), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="zahlungslauf-{run.pk}.xml"'
        return response

    @extend_schema(summary="Der Lauf als Excel-Tabelle", responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"])
    def workbook(self, request, pk=None, format=None):
        run = self.get_object()
        response = HttpResponse(sepa.workbook(run), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="zahlungslauf-{run.pk}.xlsx"'
        return response
