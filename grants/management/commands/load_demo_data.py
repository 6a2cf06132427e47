from contextlib import nullcontext

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from grants.demo import DEMO_ADMIN, DEMO_TOTP_SECRET, DEMO_USERS, SAMPLE_WORKBOOK, demo_totp_uri, load_demo_data

CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"
FILE_MAIL = "django.core.mail.backends.filebased.EmailBackend"


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
        # The demo's cases send their e-mails (letters attached) as they go: with the development default, the
        # console, they go to files instead, rather than thousands of lines of base64 before the logins.
        to_files = settings.EMAIL_BACKEND == CONSOLE_MAIL
        with override_settings(EMAIL_BACKEND=FILE_MAIL) if to_files else nullcontext():
            created = load_demo_data(workbook=from_workbook)
        self.stdout.write("Demo-Daten angelegt." if created else "Demo-Daten sind bereits vorhanden.")
        if to_files and created:
            self.stdout.write(f"Die E-Mails der Demo liegen als Dateien in {settings.EMAIL_FILE_PATH}")
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
