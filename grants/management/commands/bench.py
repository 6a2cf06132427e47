from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from benchmarks.figures import SCALES
from benchmarks.run import FIGURE_IDS, run


class Command(BaseCommand):
    help = (
        "Benchmark at scale (issue 8): builds synthetic data in a database of its own (SQLite, or PostgreSQL "
        "with DATABASE_URL), measures each figure beside its floor, prints a table and writes JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="full", help="smoke: the smallest, for tests")
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "bench-results.json"))
        parser.add_argument(
            "--database-name",
            help="the benchmark's database (created and dropped): a file for SQLite, a name for PostgreSQL; "
            "default a temporary file, or <DATABASE_URL's name>_bench",
        )
        parser.add_argument("--only", nargs="*", choices=FIGURE_IDS, default=[], help="measure only these figures")

    def handle(self, *args, scale, output, database_name, only, **options):
        if not settings.DEBUG and not database_name:
            raise CommandError("Name the benchmark's database with --database-name when DJANGO_DEBUG is off.")
        run(
            scale_name=scale,
            output=Path(output),
            database_name=database_name,
            only=set(only),
            log=lambda line: self.stdout.write(line),
        )
        self.stdout.write(f"Figures written to {output}")
