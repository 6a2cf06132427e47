"""Production differs only by environment variables: Django's deployment check passes with them, a missing
secret stops the start, static files are collected into a manifest, media can live in an S3 bucket.

The settings are read once per process, so each environment runs in a subprocess of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k7Qp-2xZr9VbW4mN8sL1cT6yH3fJ0dG5aE_uIoP7qRwXvB2nM9kS4",
    "DJANGO_ALLOWED_HOSTS": "foerderdesk.musterstadt.de",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "DATABASE_URL": "postgres://foerderdesk@127.0.0.1:5432/foerderdesk",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def run(args: list[str], **environment: str) -> subprocess.CompletedProcess:
    # Nothing of the test run's own environment that the settings read, so only `environment` counts.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "AWS_", "MEDIA_"))}
    env.pop("DATABASE_URL", None)
    env.update(environment)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_deployment_check_is_clean_with_the_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_deployment_check_names_what_an_operator_switched_off():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **PRODUCTION,
        DJANGO_SESSION_COOKIE_SECURE="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
    )
    assert result.returncode != 0
    assert "security.W012" in result.stderr and "security.W004" in result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_without_debug_the_service_refuses_to_start_without_a_secret_key_or_hosts(missing):
    environment = {**PRODUCTION, missing: ""}
    result = run(["manage.py", "check"], **environment)
    assert result.returncode != 0
    assert f"{missing} must be set when DJANGO_DEBUG is off" in result.stderr


SHOW_STORAGES = """
import django, json
django.setup()
from django.conf import settings
from django.core.files.storage import storages
media = storages["default"]
print(json.dumps({
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
    "media": type(media).__name__,
    "bucket": getattr(media, "bucket_name", None),
    "endpoint": getattr(media, "endpoint_url", None),
    "secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT],
}))
"""


def storages(**environment: str) -> dict:
    result = run(["-c", SHOW_STORAGES], DJANGO_SETTINGS_MODULE="config.settings", **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_serves_compressed_hashed_static_files_and_media_from_s3_when_asked():
    assert storages(**PRODUCTION) == {
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "media": "FileSystemStorage",
        "bucket": None,
        "endpoint": None,
        "secure": [True, True, True],
    }
    s3 = storages(
        **PRODUCTION,
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="foerderdesk-dokumente",
        AWS_S3_ENDPOINT_URL="https://s3.musterstadt.de",
        AWS_S3_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_S3_SECRET_ACCESS_KEY="geheim",
    )
    assert s3["media"] == "S3Storage"
    assert s3["bucket"] == "foerderdesk-dokumente" and s3["endpoint"] == "https://s3.musterstadt.de"
    development = storages()
    assert development["static"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert development["secure"] == [False, False, False]


def test_an_unknown_media_storage_is_refused():
    result = run(["manage.py", "check"], **PRODUCTION, MEDIA_STORAGE="ftp")
    assert result.returncode != 0 and "MEDIA_STORAGE must be 'filesystem' or 's3'" in result.stderr


def test_collectstatic_builds_the_manifest_over_the_npm_packages(tmp_path, settings):
    """Every url() in KERN UX's CSS, htmx and Swagger UI must resolve, or the manifest storage refuses to build.

    Whitenoise's production storage is this manifest plus compression; the compression cannot fail on a
    missing file, so the fast manifest alone is built here.
    """
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in [
        "kern/kern.min.css",
        "kern/fonts/fira-sans.css",
        "htmx/htmx.min.js",
        "foerderdesk/site.css",
        "foerderdesk/site.js",
        "foerderdesk/swagger.css",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
    ]:
        assert (tmp_path / manifest[name]).exists(), name


def test_every_variable_in_the_example_environment_is_one_the_settings_read():
    import re

    example = (BASE_DIR / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', (BASE_DIR / "config" / "settings.py").read_text()))
    assert len(named) > 30
    assert named - read == set()
