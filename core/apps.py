from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The kernel: tenancy, money, decisions, the domain error, append-only rows, queueing, shared helpers.

    It imports no other app of the project; every app may import it.
    """

    name = "core"
    verbose_name = _("Grundlagen")
