"""Version 1 of every programme's guideline, from the programme's own fields, and every application on it.

The terms a programme carried so far (rate, caps, minimums, rounding, consultation, quotes, commitment
period) become its version 1; its component rules and funding-area streets become that version's rows;
every existing application (also approved and paid ones) points at it, so the payment of a case approved
before this migration follows the terms it was approved under. The programme's history rows are copied
into the history of its version 1, so the audit history still shows who changed a rate and when.
"""

from django.db import migrations
from django.utils import timezone

TERMS = (
    "funding_rate_percent",
    "property_cap",
    "minimum_grant",
    "minimum_eligible_costs",
    "minimum_order_volume",
    "ancillary_cap_percent",
    "rounding",
    "consultation_required",
    "quotes_required",
    "commitment_years",
)
REASON = "Übernommen aus den bisherigen Programmdaten (Einführung der Fassungen)."


def _valid_from(programme, applications, history):
    days = [timezone.localdate()]
    if programme.opens_on:
        days.append(programme.opens_on)
    first = applications.order_by("created_at").values_list("created_at", flat=True).first()
    if first:
        days.append(timezone.localdate(first))
    first_change = history.order_by("history_date").values_list("history_date", flat=True).first()
    if first_change:
        days.append(timezone.localdate(first_change))
    return min(days)


def forwards(apps, schema_editor):
    Programme = apps.get_model("grants", "Programme")
    HistoricalProgramme = apps.get_model("grants", "HistoricalProgramme")
    GuidelineVersion = apps.get_model("grants", "GuidelineVersion")
    HistoricalGuidelineVersion = apps.get_model("grants", "HistoricalGuidelineVersion")
    GrantApplication = apps.get_model("grants", "GrantApplication")
    HistoricalGrantApplication = apps.get_model("grants", "HistoricalGrantApplication")
    ProgrammeComponentRule = apps.get_model("grants", "ProgrammeComponentRule")
    FundingAreaStreet = apps.get_model("grants", "FundingAreaStreet")

    for programme in Programme.objects.order_by("pk"):
        applications = GrantApplication.objects.filter(programme=programme)
        history = HistoricalProgramme.objects.filter(id=programme.pk)
        valid_from = _valid_from(programme, applications, history)
        version = GuidelineVersion.objects.create(
            programme=programme,
            number=1,
            valid_from=valid_from,
            reason=REASON,
            **{term: getattr(programme, term) for term in TERMS},
        )
        ProgrammeComponentRule.objects.filter(programme=programme).update(version=version)
        FundingAreaStreet.objects.filter(programme=programme).update(version=version)
        applications.update(guideline_version=version)
        HistoricalGrantApplication.objects.filter(programme_id=programme.pk).update(guideline_version_id=version.pk)
        Programme.objects.filter(pk=programme.pk).update(current_version=version)
        HistoricalProgramme.objects.filter(id=programme.pk).update(current_version_id=version.pk)

        rows = [
            HistoricalGuidelineVersion(
                id=version.pk,
                programme_id=programme.pk,
                number=1,
                valid_from=valid_from,
                reason=REASON,
                created_at=version.created_at,
                history_date=row.history_date,
                history_user_id=row.history_user_id,
                history_type="+" if n == 0 else "~",
                history_change_reason=row.history_change_reason,
                **{term: getattr(row, term) for term in TERMS},
            )
            for n, row in enumerate(history.exclude(history_type="-").order_by("history_date", "history_id"))
        ]
        if not rows:
            rows = [
                HistoricalGuidelineVersion(
                    id=version.pk,
                    programme_id=programme.pk,
                    number=1,
                    valid_from=valid_from,
                    reason=REASON,
                    created_at=version.created_at,
                    history_date=timezone.now(),
                    history_type="+",
                    **{term: getattr(programme, term) for term in TERMS},
                )
            ]
        HistoricalGuidelineVersion.objects.bulk_create(rows)


def backwards(apps, schema_editor):
    Programme = apps.get_model("grants", "Programme")
    GuidelineVersion = apps.get_model("grants", "GuidelineVersion")
    ProgrammeComponentRule = apps.get_model("grants", "ProgrammeComponentRule")
    FundingAreaStreet = apps.get_model("grants", "FundingAreaStreet")
    for programme in Programme.objects.exclude(current_version=None):
        version = GuidelineVersion.objects.get(pk=programme.current_version_id)
        Programme.objects.filter(pk=programme.pk).update(**{term: getattr(version, term) for term in TERMS})
    for model in (ProgrammeComponentRule, FundingAreaStreet):
        for row in model.objects.select_related("version"):
            model.objects.filter(pk=row.pk).update(programme_id=row.version.programme_id)


class Migration(migrations.Migration):
    dependencies = [("grants", "0008_guideline_versions")]

    operations = [migrations.RunPython(forwards, backwards)]
