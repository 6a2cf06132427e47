from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = _("Förderung")

    def ready(self) -> None:
        # The revocation steps' services register themselves with grants.services.SERVICES; a step of the
        # registry without its service fails here, at start-up.
        from . import commitment, revocations  # noqa: F401
        from .services import SERVICES
        from .steps import TRANSITION_STEPS

        missing = [step.name for step in TRANSITION_STEPS if not step.own_form and step.name not in SERVICES]
        if missing:
            raise ImproperlyConfigured(f"steps without a service: {', '.join(missing)}")
