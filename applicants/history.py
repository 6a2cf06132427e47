"""django-simple-history with many-to-many changes recorded from either side.

simple-history records a tracked many-to-many change only when it is made from the model that
declares the field (``user.groups.add(group)``); made from the other side
(``group.user_set.add(user)``, ``user.municipalities.add(town)``) it would write the wrong
history or fail. Here the reverse side records a row for each object whose set changed.
"""

from __future__ import annotations

from simple_history.models import HistoricalRecords


class History(HistoricalRecords):
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
