from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from applicants.models import Applicant, User
from grants.personal_data import personal_data_zip


class Command(BaseCommand):
    help = "Art. 15 DSGVO: write everything held about one person (data.json and their files) into a ZIP."

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="username of the owner's account (all their applicant profiles)")
        who.add_argument("--applicant", type=int, help="id of one applicant profile")
        parser.add_argument("--output", "-o", required=True, help="the ZIP file to write")

    def handle(self, *args, user, applicant, output, **options):
        if user:
            account = User.objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"Benutzer/in {user!r} nicht gefunden.")
            content = personal_data_zip(user=account)
        else:
            profile = Applicant.objects.filter(pk=applicant).first()
            if profile is None:
                raise CommandError(f"Antragsteller/in {applicant} nicht gefunden.")
            content = personal_data_zip(applicant=profile)
        Path(output).write_bytes(content)
        self.stdout.write(f"{output}: {len(content)} Bytes geschrieben.")
