from django import template

from grants.models import GrantApplication
from grants.privacy import draft_kept_until as kept_until

register = template.Library()


@register.filter
def draft_kept_until(application):
    """The day a never-submitted draft will be deleted, or None for anything else."""
    if not isinstance(application, GrantApplication) or application.pk is None:
        return None
    if application.state != GrantApplication.State.DRAFT or application.file_number or application.submitted_at:
        return None
    return kept_until(application)
