"""django-simple-history with many-to-many changes recorded from either side.

simple-history records a tracked many-to-many change only when it is made from the model that
declares the field (``user.groups.add(group)``); made from the other side
(``group.user_set.add(user)``, ``user.municipalities.add(town)``) it would write the wrong
history or fail. Here the reverse side records a row for each object whose set changed.
"""

from __future__ import annotations

from typing import Any

from simple_history.models import HistoricalRecords


class History(HistoricalRecords):
    """``table_prefix`` keeps the history tables of a model that moved between apps (e.g. ``"grants"``)."""

    def __init__(self, *args: Any, table_prefix: str | None = None, **kwargs: Any) -> None:
        self.table_prefix = table_prefix
        super().__init__(*args, **kwargs)

    def get_meta_options(self, model):
        options = super().get_meta_options(model)
        if self.table_prefix:
            options["db_table"] = f"{self.table_prefix}_{self.get_history_model_name(model).lower()}"
        return options

    def get_meta_options_m2m(self, through_model):
        options = super().get_meta_options_m2m(through_model)
        if self.table_prefix:
            options["db_table"] = f"{self.table_prefix}_{self.get_history_model_name(through_model).lower()}"
        return options

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs):
        if not reverse:
            return super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)
        if action == "pre_clear":
            # The set is gone after the clear: remember whose it was.
            instance._history_cleared_pks = list(
                self.cls.objects.filter(**{attr: instance}).values_list("pk", flat=True)
            )
            return None
        if action == "post_clear":
            pk_set = getattr(instance, "_history_cleared_pks", [])
        elif action not in ("post_add", "post_remove"):
            return None
        user = getattr(instance, "_history_user", None)
        for changed in self.cls.objects.filter(pk__in=pk_set or ()):
            if user is not None:
                changed._history_user = user
            super().m2m_changed(changed, action, attr, pk_set, False, **kwargs)
        return None
