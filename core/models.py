"""Tenancy: the municipality (Kommune) that runs programmes, and who works for it.

The tables keep the names they had when the municipality lived in ``grants`` (rows and ids unchanged).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .history import History


class Municipality(models.Model):
    """Kommune: the town that runs programmes; staff are scoped to theirs."""

    name = models.CharField(_("Name"), max_length=200, unique=True)
    official_name = models.CharField(_("Amtliche Bezeichnung"), max_length=200, blank=True)
    address = models.TextField(_("Anschrift"), blank=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Mitarbeitende"),
        related_name="municipalities",
        blank=True,
        db_table="grants_municipality_staff",
    )
    # Who works for which town is history: the staff list is kept with each change.
    history = History(m2m_fields=["staff"], table_prefix="grants")

    class Meta:
        db_table = "grants_municipality"
        verbose_name = _("Kommune")
        verbose_name_plural = _("Kommunen")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
