"""Applicant profiles and properties: owners register their own, staff read those of their municipalities' cases."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from core.api import ID, FilterSet, IdFilter, NotFoundAlike
from core.security import ObtainAuthTokenView as LockoutAwareObtainAuthToken

from . import services
from .models import Applicant, Property
from .rules import may_apply, visible_applicants, visible_properties
from .serializers import ApiTokenSerializer, ApplicantSerializer, PropertySerializer


class _CreateByApplicants:
    def create(self, request, format=None):
        decision = may_apply(request.user)
        if not decision:
            raise exceptions.PermissionDenied(decision.reason)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = self.perform_service(serializer.validated_data)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)


class ApplicantFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Applicant
        fields = ["kind", "standing", "name"]


@extend_schema_view(
    list=extend_schema(summary="Antragstellende", description="Owners see their own profiles, staff their cases'."),
    retrieve=extend_schema(summary="Ein/e Antragsteller/in"),
    create=extend_schema(summary="Eigenes Antragsteller-Profil anlegen (nur Antragstellende)"),
)
class ApplicantViewSet(_CreateByApplicants, NotFoundAlike, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Applicant profiles: owners see and create their own; staff see those of their municipalities' cases."""

    serializer_class = ApplicantSerializer
    filterset_class = ApplicantFilter
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]
    lookup_value_regex = ID
    not_found_message = _("Antragsteller/in nicht gefunden.")

    def get_queryset(self):
        return visible_applicants(self.request.user)

    def perform_service(self, data):
        return services.applicant_create(user=self.request.user, **data)


class PropertyFilter(FilterSet):
    registered_by = IdFilter(field_name="registered_by")
    street = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Property
        fields = ["street", "postcode", "registered_by"]


@extend_schema_view(
    list=extend_schema(summary="Grundstücke", description="Owners see what they registered or applied for."),
    retrieve=extend_schema(summary="Ein Grundstück"),
    create=extend_schema(summary="Grundstück erfassen (nur Antragstellende, für ein eigenes Profil)"),
)
class PropertyViewSet(_CreateByApplicants, NotFoundAlike, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Properties: owners see and register their own; staff see those of their municipalities' cases."""

    serializer_class = PropertySerializer
    filterset_class = PropertyFilter
    ordering_fields = ["street", "postcode", "id"]
    ordering = ["street", "house_number", "id"]
    lookup_value_regex = ID
    not_found_message = _("Grundstück nicht gefunden.")

    def get_queryset(self):
        return visible_properties(self.request.user)

    def perform_service(self, data):
        return services.property_create(**data)


@extend_schema_view(
    post=extend_schema(
        tags=["auth"],
        summary="Token holen",
        description=(
            "Gibt das Token für `Authorization: Token …` aus, gegen Benutzername und Passwort. "
            "Mitarbeitende der Kommune und die Administration schicken zusätzlich `otp`, den aktuellen Code ihrer "
            "Authenticator-App (zweiter Faktor); ohne ihn oder mit einem falschen Code antwortet die API mit 400. "
            "Ein ausgegebenes Token gilt weiter, bis es gelöscht wird."
        ),
        request=ApiTokenSerializer,
        responses={200: ApiTokenSerializer},
    )
)
class ObtainTokenView(LockoutAwareObtainAuthToken):
    """POST /api/auth/token/: a token for the password, and for staff the second factor too."""

    serializer_class = ApiTokenSerializer
    # The credentials are in the body; a session cookie sent along must not decide anything here.
    authentication_classes = ()
