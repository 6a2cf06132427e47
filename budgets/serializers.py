"""Budget JSON: allocations with their balance, the ledger read-only; money as decimal strings."""

from __future__ import annotations

from rest_framework import serializers

from core.api import Money
from core.text import TextSerializerField

from .models import NARRATIVE_MAX_LENGTH, Allocation, LedgerEntry


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


class StatementSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True, help_text="Fortschritt in Prozent")
    workbook_url = serializers.SerializerMethodField(help_text="Excel-Datei, sobald fertig")
    pdf_url = serializers.SerializerMethodField(help_text="PDF mit Unterschriftenblock, sobald fertig")

    class Meta:
        from .models import Statement

        model = Statement
        fields = [
            "id", "municipality", "programme", "year", "narrative", "status", "total", "done", "percent", "error",
            "created_at", "finished_at", "workbook_url", "pdf_url",
        ]  # fmt: skip
        read_only_fields = fields

    def _url(self, statement, name: str) -> str | None:
        from django.urls import reverse

        if statement.status != statement.Status.DONE:
            return None
        return reverse(f"statement-{name}", kwargs={"pk": statement.pk})

    def get_workbook_url(self, statement) -> str | None:
        return self._url(statement, "workbook")

    def get_pdf_url(self, statement) -> str | None:
        return self._url(statement, "pdf")


class StatementRequestSerializer(serializers.Serializer):
    programme = serializers.IntegerField(required=False, min_value=1, help_text="ein Förderprogramm …")
    municipality = serializers.IntegerField(
        required=False, min_value=1, help_text="… oder alle Programme einer Kommune"
    )
    year = serializers.IntegerField(min_value=2000, max_value=2100, help_text="Programmjahr")
    narrative = TextSerializerField(
        required=False,
        allow_blank=True,
        max_length=NARRATIVE_MAX_LENGTH,
        help_text="Sachbericht; leer: der erzeugte Entwurf",
    )

    def validate(self, data):
        if ("programme" in data) == ("municipality" in data):
            raise serializers.ValidationError("Bitte entweder programme oder municipality angeben.")
        return data
