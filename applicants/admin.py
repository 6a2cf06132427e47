from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Applicant, Consultation, Property, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active")
    list_filter = ("groups", "is_active", "is_staff")


@admin.register(Applicant)
class ApplicantAdmin(admin.ModelAdmin):
    list_display = ("name", "organisation", "kind", "standing", "city", "may_deduct_input_vat")
    list_filter = ("kind", "standing", "may_deduct_input_vat")
    search_fields = ("name", "organisation", "email", "street")
    raw_id_fields = ("user",)


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ("street", "house_number", "postcode", "city", "cadastral_district", "parcel")
    search_fields = ("street", "parcel", "cadastral_district")
    raw_id_fields = ("registered_by",)


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    list_display = ("held_on", "applicant", "property", "adviser", "municipality")
    list_filter = ("municipality",)
    date_hierarchy = "held_on"
    raw_id_fields = ("applicant", "property", "recorded_by")
