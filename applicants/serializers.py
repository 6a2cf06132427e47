"""Applicants and properties as JSON; creation input goes to applicants.services."""

from __future__ import annotations

from rest_framework import serializers

from .models import Applicant, Property
from .rules import own_applicants


class ApplicantSerializer(serializers.ModelSerializer):
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


class PropertySerializer(serializers.ModelSerializer):
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
