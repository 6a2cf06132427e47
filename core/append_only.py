"""Rows written once and never changed or deleted, one by one or in bulk: the ledger and the letters."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(PermissionError):
    """An attempt to change or delete an append-only row; a correction is a new row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        model: Any = self.model
        raise model.append_only_error(model.unchanged_message)

    def delete(self) -> tuple[int, dict[str, int]]:
        model: Any = self.model
        raise model.append_only_error(model.undeleted_message)


class AppendOnlyModel(models.Model):
    append_only_error: ClassVar[type[AppendOnlyError]] = AppendOnlyError
    unchanged_message: ClassVar[Any] = _("Dieser Eintrag wird nie geändert; eine Korrektur ist ein neuer Eintrag.")
    undeleted_message: ClassVar[Any] = _("Dieser Eintrag wird nie gelöscht.")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise self.append_only_error(self.unchanged_message)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise self.append_only_error(self.undeleted_message)
