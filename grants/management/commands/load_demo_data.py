from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from grants.demo import DEMO_ADMIN, DEMO_TOTP_SECRET, DEMO_USERS, SAMPLE_WORKBOOK, demo_totp_uri, load_demo_data


class Command(BaseCommand):
    help = "Load the Musterstadt demo (programmes, allocations, cases in every state, one user per role)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="also when DJANGO_DEBUG is off")
        parser.add_argument(
            "--from-workbook",
            nargs="?",
            const=str(SAMPLE_WORKBOOK),
            default=None,
            help=f"take the cases from an Excel workbook of legacy cases (default {SAMPLE_WORKBOOK.name})",
        )

    def handle(self, *args, force=False, from_workbook=None, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data carries known passwords; refusing with DJANGO_DEBUG off (use --force).")
        created = load_demo_data(workbook=from_workbook)
        self.stdout.write("Demo-Daten angelegt." if created else "Demo-Daten sind bereits vorhanden.")
        self.stdout.write("\nAnmeldung unter http://127.0.0.1:8000/konto/anmelden/ (Verwaltung: /admin/):")
        for username, password, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {role.label:<28} {username:<18} Passwort: {password}")
        self.stdout.write(f"  {'Administration':<28} {DEMO_ADMIN[0]:<18} Passwort: {DEMO_ADMIN[1]}")
        secret = " ".join(DEMO_TOTP_SECRET[i : i + 4] for i in range(0, len(DEMO_TOTP_SECRET), 4))
        self.stdout.write(
            "\nZweiter Faktor: Alle Logins außer der Eigentümerin fragen nach dem Passwort einen Code ab."
            "\nFügen Sie dieses Demo-Geheimnis einmal in eine Authenticator-App ein (TOTP, 6 Ziffern, 30 Sekunden):"
            f"\n  Geheimnis: {secret}"
            f"\n  otpauth-URI: {demo_totp_uri()}"
        )
