"""Admin pages scoped to the user's municipalities; the municipality's own admin page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path

from .models import Municipality


class MunicipalityScopedAdmin(admin.ModelAdmin):
    """Staff with admin access see and choose only their municipalities' rows; superusers see everything.

    ``municipality_path`` leads from the model to its municipality; a model without one shows nothing to
    anyone but superusers, unless ``scoped`` says otherwise. A change, history or delete page of another
    municipality's row answers like a missing one (back to the admin index). Choices in forms and
    filters come from the same scoped querysets, so no other town's name appears in a select.
    """

    municipality_path: str | None = None

    def scoped(self, request, queryset):
        if self.municipality_path is None:
            return queryset.none()
        return queryset.filter(**{f"{self.municipality_path}__in": request.user.municipality_ids})

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else self.scoped(request, queryset)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        # A related filter lists every row of the related table; offer only the values in the user's own rows.
        return [
            (name, admin.RelatedOnlyFieldListFilter)
            if isinstance(name, str) and get_fields_from_path(self.model, name)[-1].is_relation
            else name
            for name in filters
        ]

    def _related_choices(self, db_field, request, kwargs):
        related = self.admin_site._registry.get(db_field.remote_field.model)
        if not request.user.is_superuser and "queryset" not in kwargs and related is not None:
            kwargs["queryset"] = related.get_queryset(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._related_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._related_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Municipality)
class MunicipalityAdmin(MunicipalityScopedAdmin):
    municipality_path = "pk"
    list_display = ("name", "official_name", "state", "objection_procedure")
    list_filter = ("state", "objection_procedure")
    filter_horizontal = ("staff",)
