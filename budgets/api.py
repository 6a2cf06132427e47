"""Read-only budget endpoints: allocations with balances and the append-only ledger, for municipal staff."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ID, DateTimeFilter, FilterSet, IdFilter, KeysetPagination, NotFoundAlike

from .models import Allocation, LedgerEntry
from .rules import (
    may_manage_allocations,
    may_read_budgets,
    visible_allocations,
    visible_ledger_entries,
    visible_state_notices,
)
from .selectors import allocation_balance_by_share, allocations_with_balance, budget_years
from .serializers import (
    AllocationBalanceSerializer,
    AllocationSerializer,
    AllocationWriteSerializer,
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
class AllocationViewSet(
    StaffOnly, NotFoundAlike, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Allocations (Mittelausstattung) per programme year with their balance; municipal staff read, finance writes."""

    serializer_class = AllocationSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_class = AllocationFilter
    ordering_fields = ["year", "amount", "id"]
    ordering = ["-year", "id"]
    lookup_value_regex = ID
    not_found_message = _("Mittelausstattung nicht gefunden.")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            decision = may_manage_allocations(request.user)
            if not decision:
                raise exceptions.PermissionDenied(decision.reason)

    def get_queryset(self):
        return allocations_with_balance(visible_allocations(self.request.user))

    def get_serializer(self, *args, **kwargs):
        if self.request.method in ("POST", "PATCH"):
            programmes = Allocation._meta.get_field("programme").related_model.objects.filter(  # type: ignore[union-attr]
                municipality__in=self.request.user.municipality_ids
            )
            notices = visible_state_notices(self.request.user)
            return AllocationWriteSerializer(*args, programmes=programmes, notices=notices, **kwargs)
        return super().get_serializer(*args, **kwargs)

    def _answer(self, allocation, status_code):
        return Response(AllocationSerializer(self.get_queryset().get(pk=allocation.pk)).data, status=status_code)

    @extend_schema(
        request=AllocationWriteSerializer,
        responses={201: AllocationSerializer},
        summary="Eine Mittelausstattung anlegen (Finanzen); Anteile als Bruch (1/3) oder Prozent",
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(serializer.save(), 201)

    @extend_schema(
        request=AllocationWriteSerializer,
        responses={200: AllocationSerializer},
        summary="Betrag oder Anteile ändern (Finanzen); nach der ersten Buchung stehen die Anteile fest",
    )
    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            Allocation.objects.select_for_update().filter(pk=serializer.instance.pk).first()
            return self._answer(serializer.save(), 200)

    @extend_schema(
        summary="Stand einer Mittelausstattung gesamt und je Förderanteil", responses=AllocationBalanceSerializer
    )
    @action(detail=True, methods=["get"])
    def balance(self, request, pk=None, format=None):
        allocation = self.get_object()
        balances = allocation_balance_by_share(allocation)
        return Response(AllocationBalanceSerializer({**balances, "years": budget_years(allocation)}).data)


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
    # Newest first by keyset; ordering by another field is not offered (it would read the whole ledger).
    pagination_class = KeysetPagination
    ordering_fields = ["id"]
    ordering = ["-id"]
    lookup_value_regex = ID
    not_found_message = _("Buchung nicht gefunden.")

    def get_queryset(self):
        return visible_ledger_entries(self.request.user).select_related("application", "booked_by")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
