"""The base rates the Deutsche Bundesbank published (§ 247 BGB), every half-year from 2013; later ones are added
with ``manage.py add_base_rate`` as the Bundesbank publishes them (end of June and end of December)."""

from decimal import Decimal

from django.db import migrations

PUBLISHED = [
    ("2013-01-01", "-0.13"), ("2013-07-01", "-0.38"), ("2014-01-01", "-0.63"), ("2014-07-01", "-0.73"),
    ("2015-01-01", "-0.83"), ("2015-07-01", "-0.83"), ("2016-01-01", "-0.83"), ("2016-07-01", "-0.88"),
    ("2017-01-01", "-0.88"), ("2017-07-01", "-0.88"), ("2018-01-01", "-0.88"), ("2018-07-01", "-0.88"),
    ("2019-01-01", "-0.88"), ("2019-07-01", "-0.88"), ("2020-01-01", "-0.88"), ("2020-07-01", "-0.88"),
    ("2021-01-01", "-0.88"), ("2021-07-01", "-0.88"), ("2022-01-01", "-0.88"), ("2022-07-01", "-0.88"),
    ("2023-01-01", "1.62"), ("2023-07-01", "3.12"), ("2024-01-01", "3.62"), ("2024-07-01", "3.37"),
    ("2025-01-01", "2.27"), ("2025-07-01", "1.27"), ("2026-01-01", "1.27"),
]  # fmt: skip


def add(apps, schema_editor):
    BaseRate = apps.get_model("budgets", "BaseRate")
    for valid_from, rate in PUBLISHED:
        BaseRate.objects.update_or_create(valid_from=valid_from, defaults={"rate_percent": Decimal(rate)})


def remove(apps, schema_editor):
    apps.get_model("budgets", "BaseRate").objects.filter(valid_from__in=[d for d, _ in PUBLISHED]).delete()


class Migration(migrations.Migration):
    dependencies = [("budgets", "0008_base_rates")]
    operations = [migrations.RunPython(add, remove)]
