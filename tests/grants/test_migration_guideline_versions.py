"""Existing programmes and applications come over into guideline versions (grants migrations 0008–0010)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("grants", "0007_municipality_moved_to_core")]
AFTER = [("grants", "0010_guideline_terms_leave_the_programme")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _migrate_to_the_latest():
    """Leave the database as every other test expects it: at the newest migration of every app."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_every_programme_gets_version_1_from_its_fields_and_every_application_points_at_it():
    old = _migrate(BEFORE)
    try:
        municipality_model = old.get_model("core", "Municipality")
        programme_model = old.get_model("grants", "Programme")
        historical_programme = old.get_model("grants", "HistoricalProgramme")
        rule_model = old.get_model("grants", "ProgrammeComponentRule")
        street_model = old.get_model("grants", "FundingAreaStreet")
        applicant_model = old.get_model("applicants", "Applicant")
        property_model = old.get_model("applicants", "Property")
        application_model = old.get_model("grants", "GrantApplication")

        town = municipality_model.objects.create(name="Altstadt", official_name="Stadt Altstadt")
        programme = programme_model.objects.create(
            municipality=town, kind="facade", name="Fassaden", code="FP", funding_rate_percent=Decimal("50"),
            property_cap=Decimal("15000.00"), minimum_grant=Decimal("1000.00"), quotes_required=3,
            consultation_required=False, commitment_years=25,
        )  # fmt: skip
        historical_programme.objects.create(
            id=programme.pk, municipality_id=town.pk, kind="facade", name="Fassaden", code="FP",
            funding_rate_percent=Decimal("40"), quotes_required=3, consultation_required=False, commitment_years=25,
            rounding="euro_down", completion_months=12, invoice_months=3, retention_years=10,
            history_date=timezone.now(), history_type="+",
        )  # fmt: skip
        rule_model.objects.create(programme=programme, component="facade", grant_cap_per_m2=Decimal("40.00"))
        street_model.objects.create(programme=programme, street="Hauptstraße", number_from=1, number_to=99)
        applicant = applicant_model.objects.create(name="Alice", street="Hauptstraße", house_number="1", postcode="1")
        prop = property_model.objects.create(street="Hauptstraße", house_number="1", postcode="1", city="Altstadt")
        approved = application_model.objects.create(
            programme=programme, applicant=applicant, property=prop, state="approved", file_number="FP-2025-0001",
            submitted_at=timezone.now(), approved_grant=Decimal("7200.00"),
        )  # fmt: skip

        new = _migrate(AFTER)
        version_model = new.get_model("grants", "GuidelineVersion")
        version = version_model.objects.get(programme_id=programme.pk)
        assert version.number == 1 and version.reason.startswith("Übernommen")
        assert (version.funding_rate_percent, version.property_cap, version.minimum_grant) == (
            Decimal("50.00"), Decimal("15000.00"), Decimal("1000.00"),
        )  # fmt: skip
        assert (version.quotes_required, version.consultation_required, version.commitment_years) == (3, False, 25)
        assert new.get_model("grants", "Programme").objects.get(pk=programme.pk).current_version_id == version.pk
        assert (
            new.get_model("grants", "GrantApplication").objects.get(pk=approved.pk).guideline_version_id == version.pk
        )
        rule = new.get_model("grants", "ProgrammeComponentRule").objects.get()
        street = new.get_model("grants", "FundingAreaStreet").objects.get()
        assert (rule.version_id, rule.grant_cap_per_m2) == (version.pk, Decimal("40.00"))
        assert (street.version_id, street.street) == (version.pk, "Hauptstraße")
        # The programme's history of its terms stays readable as the history of its version 1.
        history = new.get_model("grants", "HistoricalGuidelineVersion").objects.filter(id=version.pk)
        assert [h.funding_rate_percent for h in history.order_by("history_id")] == [Decimal("40.00")]
    finally:
        _migrate_to_the_latest()
