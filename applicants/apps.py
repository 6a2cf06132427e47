from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicantsConfig(AppConfig):
    name = "applicants"
    verbose_name = _("Antragstellende")

    def ready(self):
        from . import signals  # noqa: F401 - connects the receivers
