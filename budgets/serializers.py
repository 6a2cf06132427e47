"""Budget JSON: allocations with their balance, the ledger read-only; money as decimal strings."""

from __future__ import annotations

from rest_framework import serializers

from grants.serializers import Money

from .models import Allocation, LedgerEntry


class AllocationSerializer(serializers.ModelSerializer):
    programme_name = serializers.CharField(source="programme.name", read_only=True)
    committed = Money(read_only=True, help_text="Bindungen − Freigaben")
    paid = Money(read_only=True, help_text="Auszahlungen − Rückforderungen")
    available = Money(read_only=True, help_text="Mittelausstattung − gebunden")

    class Meta:
        model = Allocation
        fields = [
            "id",
            "programme",
            "programme_name",
            "year",
            "amount",
            "federal_percent",
            "state_percent",
            "municipal_percent",
            "private_percent",
            "committed",
            "paid",
            "available",
        ]
        read_only_fields = fields


class BalanceSerializer(serializers.Serializer):
    allocation = Money()
    committed = Money()
    paid = Money()
    available = Money()


class AllocationBalanceSerializer(serializers.Serializer):
    """The balance in total and per funding share (Förderanteile)."""

    total = BalanceSerializer()
    federal = BalanceSerializer()
    state = BalanceSerializer()
    municipal = BalanceSerializer()
    private = BalanceSerializer()


class LedgerEntrySerializer(serializers.ModelSerializer):
    file_number = serializers.CharField(source="application.file_number", read_only=True)
    booked_by = serializers.CharField(source="booked_by.username", read_only=True)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "allocation",
            "application",
            "file_number",
            "kind",
            "amount",
            "federal_amount",
            "state_amount",
            "municipal_amount",
            "private_amount",
            "booked_by",
            "booked_at",
            "comment",
        ]
        read_only_fields = fields
