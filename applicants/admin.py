from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Exists, OuterRef, Q
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from core.admin import MunicipalityScopedAdmin

from .models import Applicant, Consultation, Property, SingleUndertaking, User
from .rules import visible_applicants, visible_properties


@admin.register(User)
class UserAdmin(MunicipalityScopedAdmin, BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active")
    list_filter = ("groups", "is_active", "is_staff")

    def get_readonly_fields(self, request, obj=None):
        # Admin access, superuser status and single permissions are a superuser's decision: a town's admin who
        # could tick them for themselves would see every town.
        fields = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return (*fields, "is_staff", "is_superuser", "user_permissions")

    def scoped(self, request, queryset):
        # Colleagues of the user's municipalities and the owners of their cases.
        colleagues = Q(municipalities__in=request.user.municipality_ids)
        owners = Q(pk__in=visible_applicants(request.user).values("user"))
        return queryset.filter(colleagues | owners).distinct()


@admin.register(Applicant)
class ApplicantAdmin(MunicipalityScopedAdmin):
    list_display = ("name", "organisation", "kind", "standing", "city", "may_deduct_input_vat")
    list_filter = ("kind", "standing", "may_deduct_input_vat")
    search_fields = ("name", "organisation", "email", "street")
    raw_id_fields = ("user",)

    def scoped(self, request, queryset):
        return queryset.filter(pk__in=visible_applicants(request.user).values("pk"))


@admin.register(SingleUndertaking)
class SingleUndertakingAdmin(MunicipalityScopedAdmin):
    """Staff group linked enterprises into one single undertaking (they share the de-minimis ceiling)."""

    list_display = ("name", "created_at")
    search_fields = ("name",)

    def scoped(self, request, queryset):
        # An undertaking with a member the user sees, or none yet (just created); never another town's group.
        members = Applicant.objects.filter(single_undertaking=OuterRef("pk"))
        visible = visible_applicants(request.user).filter(single_undertaking=OuterRef("pk"))
        return queryset.filter(Q(Exists(visible)) | ~Q(Exists(members)))


@admin.register(Property)
class PropertyAdmin(MunicipalityScopedAdmin):
    list_display = ("street", "house_number", "postcode", "city", "cadastral_district", "parcel")
    search_fields = ("street", "parcel", "cadastral_district")
    raw_id_fields = ("registered_by",)

    def scoped(self, request, queryset):
        return queryset.filter(pk__in=visible_properties(request.user).values("pk"))


@admin.register(Consultation)
class ConsultationAdmin(MunicipalityScopedAdmin):
    municipality_path = "municipality"
    list_display = ("held_on", "applicant", "property", "adviser", "municipality")
    list_filter = ("municipality",)
    date_hierarchy = "held_on"
    raw_id_fields = ("applicant", "property", "recorded_by")


# The libraries' own admins for API tokens and e-mail addresses, scoped like the users they belong to:
# a token is a password, so staff see only their own.
admin.site.unregister(TokenProxy)
admin.site.unregister(EmailAddress)


@admin.register(TokenProxy)
class ScopedTokenAdmin(MunicipalityScopedAdmin, TokenAdmin):
    def scoped(self, request, queryset):
        return queryset.filter(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser and db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(EmailAddress)
class ScopedEmailAddressAdmin(MunicipalityScopedAdmin, EmailAddressAdmin):
    def scoped(self, request, queryset):
        return queryset.filter(user__in=admin.site._registry[User].get_queryset(request))


# Rows of no municipality that tell about everyone's logins: the authenticator apps of staff (django-otp; their
# secrets let someone pass as that person) and django-axes' login attempts (names and addresses of every town).
# Only superusers see them; a lost phone is handled by a superuser deleting the device.
import axes.admin  # noqa: E402 - registers axes' admins first; replaced below
import django_otp.plugins.otp_totp.admin  # noqa: E402, F401 - registers the device admin first; replaced below
from axes.models import AccessAttempt, AccessFailureLog, AccessLog  # noqa: E402
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402


class SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        return rows if request.user.is_superuser else rows.none()


for _model, _admin in (
    (TOTPDevice, TOTPDeviceAdmin),
    (AccessAttempt, axes.admin.AccessAttemptAdmin),
    (AccessLog, axes.admin.AccessLogAdmin),
    (AccessFailureLog, axes.admin.AccessFailureLogAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, type(f"SuperuserOnly{_admin.__name__}", (SuperuserOnly, _admin), {}))
