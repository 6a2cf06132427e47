"""Tokens that staff and administrators hold from before the second factor let them into the API without it:
delete them. They ask for a new one with their code (POST /api/auth/token/ with ``otp``)."""

from django.db import migrations
from django.db.models import Q

STAFF_ROLES = ("caseworker", "approver", "finance", "auditor")


def drop_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    staff = Q(user__is_staff=True) | Q(user__is_superuser=True) | Q(user__groups__name__in=STAFF_ROLES)
    Token.objects.filter(pk__in=Token.objects.filter(staff).values("pk")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("applicants", "0004_history_and_anonymisation"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(drop_tokens, migrations.RunPython.noop)]
