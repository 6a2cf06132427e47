from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = _("Förderung")

    def ready(self) -> None:
        # The revocation steps' services register themselves with grants.services.SERVICES; a step of the
        # registry without its service fails here, at start-up.
        from django.db.models.signals import post_save

        from budgets.models import LedgerEntry

        from . import commitment, revocations  # noqa: F401
        from .services import SERVICES
        from .steps import TRANSITION_STEPS

        post_save.connect(_offer_after_release, sender=LedgerEntry, dispatch_uid="grants-waiting-offer")

        missing = [step.name for step in TRANSITION_STEPS if not step.own_form and step.name not in SERVICES]
        if missing:
            raise ImproperlyConfigured(f"steps without a service: {', '.join(missing)}")


def _offer_after_release(sender, instance, created, **kwargs) -> None:
    """Money released in this year's allocation: once committed, the approvers are offered the waiting cases."""
    from django.utils import timezone

    from core.tasks import enqueue_on_commit

    from .tasks import offer_waiting_cases

    if created and instance.kind == "release" and instance.allocation.year == timezone.localdate().year:
        enqueue_on_commit(offer_waiting_cases, programme_ids=[instance.allocation.programme_id])
