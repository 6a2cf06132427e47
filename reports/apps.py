from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """What is read across grants and the ledger: the budget dashboard and the proof-of-use statement."""

    name = "reports"
    verbose_name = _("Berichte")
