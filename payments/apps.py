from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """Payment runs for the cash office: released payments gathered, the SEPA file, the order and its execution."""

    name = "payments"
    verbose_name = _("Zahlungsläufe")
