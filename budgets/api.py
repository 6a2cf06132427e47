"""Read-only budget endpoints: allocations with balances and the append-only ledger, for municipal staff."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ID, DateTimeFilter, FilterSet, IdFilter, NotFoundAlike

from .models import Allocation, LedgerEntry
from .rules import may_read_budgets, visible_allocations, visible_ledger_entries
from .selectors import allocation_balance_by_share, allocations_with_balance
from .serializers import (
    AllocationBalanceSerializer,
    AllocationSerializer,
    LedgerEntrySerializer,
)


class StaffOnly:
    # Owners get 403 with a reason for every budget address, whether or not the row exists.

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        decision = may_read_budgets(request.user)
        if not decision:
            raise exceptions.PermissionDenied(decision.reason)


class AllocationFilter(FilterSet):
    programme = IdFilter(field_name="programme")

    class Meta:
        model = Allocation
        fields = ["programme", "year"]


@extend_schema_view(
    list=extend_schema(summary="Mittelausstattungen mit Stand (gebunden, ausgezahlt, verfügbar)"),
    retrieve=extend_schema(summary="Eine Mittelausstattung mit Stand"),
)
class AllocationViewSet(StaffOnly, NotFoundAlike, viewsets.ReadOnlyModelViewSet):
    """Allocations (Mittelausstattung) per programme year with their balance; municipal staff only."""

    serializer_class = AllocationSerializer
    filterset_class = AllocationFilter
    ordering_fields = ["year", "amount", "id"]
    ordering = ["-year", "id"]
    lookup_value_regex = ID
    not_found_message = _("Mittelausstattung nicht gefunden.")

    def get_queryset(self):
        return allocations_with_balance(visible_allocations(self.request.user))

    @extend_schema(
        summary="Stand einer Mittelausstattung gesamt und je Förderanteil", responses=AllocationBalanceSerializer
    )
    @action(detail=True, methods=["get"])
    def balance(self, request, pk=None, format=None):
        balances = allocation_balance_by_share(self.get_object())
        return Response(AllocationBalanceSerializer(balances).data)


class LedgerEntryFilter(FilterSet):
    allocation = IdFilter(field_name="allocation")
    application = IdFilter(field_name="application")
    programme = IdFilter(field_name="allocation__programme")
    booked_after = DateTimeFilter(field_name="booked_at", lookup_expr="gte")
    booked_before = DateTimeFilter(field_name="booked_at", lookup_expr="lt")

    class Meta:
        model = LedgerEntry
        fields = ["allocation", "application", "kind"]


@extend_schema_view(
    list=extend_schema(summary="Buchungen (nur lesen; Buchungen werden nie geändert)"),
    retrieve=extend_schema(summary="Eine Buchung"),
)
class LedgerEntryViewSet(StaffOnly, NotFoundAlike, viewsets.ReadOnlyModelViewSet):
    """The append-only ledger, each entry split into funding shares; municipal staff only, read only."""

    serializer_class = LedgerEntrySerializer
    filterset_class = LedgerEntryFilter
    ordering_fields = ["booked_at", "amount", "id"]
    ordering = ["booked_at", "id"]
    lookup_value_regex = ID
    not_found_message = _("Buchung nicht gefunden.")

    def get_queryset(self):
        return visible_ledger_entries(self.request.user).select_related("application", "booked_by")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
