"""Budget JSON: allocations with their balance, the ledger read-only; money as decimal strings."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import transaction
from rest_framework import serializers

from core.api import Money
from core.errors import DomainError
from core.text import TextSerializerField

from .models import NARRATIVE_MAX_LENGTH, Allocation, LedgerEntry, StateNotice
from .shares import SHARES, ShareError, format_share, parse_share

PERCENT_HELP = "der Anteil in Prozent, auf vier Stellen gerundet (genau ist der Bruch)"


SHARE_HELP = "Förderanteil als Bruch des Ganzen (1/3) oder in Prozent (33,34); alle vier ergeben genau 1"
SHARE_PATTERN = r"^\s*([0-9]{1,12}\s*/\s*[1-9][0-9]{0,11}|[0-9]{1,3}([.,][0-9]{1,12})?\s*%?)\s*$"


class ShareSerializerField(serializers.CharField):
    """A funding share: "1/3" or a per cent ("33.34", "33,34 %"); read back as the reduced fraction ("1/3")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("help_text", SHARE_HELP)
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(SHARE_PATTERN, "Bitte als Bruch (1/3) oder in Prozent (33,34) angeben."))

    def run_validation(self, data=serializers.empty):
        text = super().run_validation(data)  # a string within the length and the pattern
        try:
            return parse_share(text)
        except ShareError as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value) -> str:
        return format_share(value)


class AllocationSerializer(serializers.ModelSerializer):
    programme_name = serializers.CharField(source="programme.name", read_only=True)
    federal_share = ShareSerializerField(read_only=True)
    state_share = ShareSerializerField(read_only=True)
    municipal_share = ShareSerializerField(read_only=True)
    private_share = ShareSerializerField(read_only=True)
    federal_percent = serializers.DecimalField(max_digits=7, decimal_places=4, read_only=True, help_text=PERCENT_HELP)
    state_percent = serializers.DecimalField(max_digits=7, decimal_places=4, read_only=True, help_text=PERCENT_HELP)
    municipal_percent = serializers.DecimalField(max_digits=7, decimal_places=4, read_only=True, help_text=PERCENT_HELP)
    private_percent = serializers.DecimalField(max_digits=7, decimal_places=4, read_only=True, help_text=PERCENT_HELP)
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
            "federal_share",
            "state_share",
            "municipal_share",
            "private_share",
            "federal_percent",
            "state_percent",
            "municipal_percent",
            "private_percent",
            "state_notice",
            "committed",
            "paid",
            "available",
        ]
        read_only_fields = fields


class AllocationWriteSerializer(serializers.ModelSerializer):
    """Create or change an allocation (finance): amount and the four shares, exactly one together.

    The model checks that the shares make exactly one (400); once booked against, the shares stay and the amount
    may not fall below what a share has committed (409).
    """

    federal_share = ShareSerializerField()
    state_share = ShareSerializerField()
    municipal_share = ShareSerializerField()
    private_share = ShareSerializerField()

    class Meta:
        model = Allocation
        fields = [
            "programme", "year", "amount", "federal_share", "state_share", "municipal_share", "private_share",
            "state_notice",
        ]  # fmt: skip
        extra_kwargs = {
            "state_notice": {
                "required": False,
                "allow_null": True,
                "help_text": "Zuwendungsbescheid des Landes, auf dem die Mittelausstattung steht (gleiche Kommune, "
                "Jahr im Bewilligungszeitraum, gleiche Anteile, Summe höchstens der zuwendungsfähige Betrag)",
            }
        }

    def __init__(self, *args, programmes=None, notices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if programmes is not None:
            self.fields["programme"].queryset = programmes  # type: ignore[attr-defined]
        # A notice of another town is answered like an id that does not exist (400).
        self.fields["state_notice"].queryset = notices if notices is not None else StateNotice.objects.none()  # type: ignore[attr-defined]
        if self.instance is not None:
            # An allocation stays with its programme and year; a new year is a new allocation.
            self.fields["programme"].read_only = True
            self.fields["year"].read_only = True

    def _saved(self, allocation: Allocation, data) -> Allocation:
        for field in ("programme", "year", "amount", "state_notice"):
            if field in data:
                setattr(allocation, field, data[field])
        if allocation.state_notice_id is not None:
            # The sum of the allocations on a notice is checked under its row lock (the caller's transaction).
            StateNotice.objects.select_for_update().filter(pk=allocation.state_notice_id).first()
        allocation.set_shares({share: data.get(f"{share}_share", getattr(allocation, f"{share}_share"))
                               for share in SHARES})  # fmt: skip
        try:
            allocation.full_clean()
        except DjangoValidationError as error:
            booked = [e for errors in getattr(error, "error_dict", {}).values() for e in errors if e.code == "booked"]
            if booked:
                raise DomainError([message for e in booked for message in e.messages]) from None
            raise
        allocation.save()
        return allocation

    @transaction.atomic
    def create(self, validated_data):
        return self._saved(Allocation(), validated_data)

    @transaction.atomic
    def update(self, instance, validated_data):
        return self._saved(instance, validated_data)


class BalanceSerializer(serializers.Serializer):
    allocation = Money()
    committed = Money()
    paid = Money()
    available = Money()


class BudgetYearSerializer(serializers.Serializer):
    """One budget year of the allocation: its cash, the carry-overs, what is committed, planned and paid."""

    year = serializers.IntegerField()
    frame = Money(help_text="Ausgabemittel des Programmjahres oder Verpflichtungsermächtigung eines späteren Jahres")
    carried_in = Money(help_text="aus dem Vorjahr übertragen")
    carried_out = Money(help_text="ins Folgejahr übertragen")
    cash = Money(help_text="Rahmen ± Übertrag")
    committed = Money()
    planned = Money(help_text="gebunden und noch nicht ausgezahlt (Kassenplan)")
    paid = Money()
    available = Money()


class AllocationBalanceSerializer(serializers.Serializer):
    """The balance in total and per funding share (Förderanteile), and per budget year."""

    total = BalanceSerializer()
    federal = BalanceSerializer()
    state = BalanceSerializer()
    municipal = BalanceSerializer()
    private = BalanceSerializer()
    years = BudgetYearSerializer(many=True)


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
            "cash_year",
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
