"""Settings of the server the HTTP figure runs against: the product's, plus the floor view, as in production.

Only ``python manage.py bench`` starts a server with these (``DJANGO_SETTINGS_MODULE=benchmarks.settings``);
the product's own URLs never carry the floor view.
"""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
# As in production with a broker: the web request only queues the letter and the e-mail.
# Nobody consumes the queue; the letter's rendering is the PDF figure's business.
_QUEUE = os.environ.get("BENCH_QUEUE_DIR", "/tmp/foerderdesk-bench-queue")
CELERY_BROKER_URL = "filesystem://"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": _QUEUE,
    "data_folder_out": _QUEUE,
    "control_folder": _QUEUE,
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(os.environ.get("BENCH_MEDIA_ROOT", "/tmp/foerderdesk-bench-media"))  # noqa: F405
# Plain http on 127.0.0.1 without collectstatic: production's https redirect, secure cookies and hashed static
# files (on by default with DJANGO_DEBUG=false) would only turn every request of the benchmark into a redirect.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
