"""Applicants and properties as JSON; creation input goes to applicants.services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from core.text import CleanTextModelSerializer

from .models import Applicant, Property
from .rules import needs_second_factor, own_applicants
from .services import second_factor_verify


class ApplicantSerializer(CleanTextModelSerializer):
    class Meta:
        model = Applicant
        fields = [
            "id",
            "kind",
            "standing",
            "name",
            "organisation",
            "street",
            "house_number",
            "postcode",
            "city",
            "email",
            "phone",
            "iban",
            "may_deduct_input_vat",
        ]
        read_only_fields = ["id"]


class _OwnApplicantField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return own_applicants(self.context["request"].user)


class PropertySerializer(CleanTextModelSerializer):
    registered_by = _OwnApplicantField(help_text="Eines Ihrer eigenen Antragsteller-Profile.")

    class Meta:
        model = Property
        fields = [
            "id",
            "registered_by",
            "street",
            "house_number",
            "postcode",
            "city",
            "cadastral_district",
            "cadastral_sheet",
            "parcel",
            "building",
        ]
        read_only_fields = ["id"]


class ApiTokenSerializer(AuthTokenSerializer):
    """User name and password; municipal staff and administrators add the code of their authenticator app."""

    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=20,
        help_text=(
            "Zweiter Faktor: der sechsstellige Code, den die Authenticator-App gerade anzeigt (TOTP). "
            "Pflicht für Mitarbeitende der Kommune und die Administration; jeder Code gilt nur einmal. "
            "Eigentümerinnen und Eigentümer lassen das Feld weg."
        ),
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = attrs["user"]
        if needs_second_factor(user):
            if not attrs.get("otp"):
                raise serializers.ValidationError(
                    {"otp": [_("Mitarbeitende der Kommune geben zusätzlich den Code aus ihrer Authenticator-App an.")]}
                )
            try:
                second_factor_verify(user=user, code=attrs["otp"])
            except DjangoValidationError as error:
                raise serializers.ValidationError({"otp": error.messages}) from None
        return attrs
