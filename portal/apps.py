from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The owner portal (HTTP only): pages over the services of applicants and grants."""

    name = "portal"
    verbose_name = _("Portal für Antragstellende")
