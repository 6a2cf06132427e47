from django.core.management.base import BaseCommand

from grants.privacy import apply_data_retention


class Command(BaseCommand):
    help = (
        "Data retention (DSGVO): delete drafts never submitted after DRAFT_RETENTION_DAYS and anonymise closed "
        "cases whose retention period has run out, then the people with no live case left. Runs daily in Celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only list what would be deleted or anonymised")

    def handle(self, *args, dry_run, **options):
        report = apply_data_retention(dry_run=dry_run)
        prefix = "Würde " if dry_run else ""
        for pk in report.drafts:
            self.stdout.write(f"{prefix}Entwurf {pk} löschen" if dry_run else f"Entwurf {pk} gelöscht")
        for number in report.applications:
            self.stdout.write(f"{prefix}Fall {number} anonymisieren" if dry_run else f"Fall {number} anonymisiert")
        for pk in report.applicants:
            self.stdout.write(
                f"{prefix}Antragsteller/in {pk} anonymisieren" if dry_run else f"Antragsteller/in {pk} anonymisiert"
            )
        for pk in report.users:
            self.stdout.write(
                f"{prefix}Benutzerkonto {pk} anonymisieren" if dry_run else f"Benutzerkonto {pk} anonymisiert"
            )
        self.stdout.write(("Probelauf, nichts geändert: " if dry_run else "") + str(report))
