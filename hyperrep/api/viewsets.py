"""The one base for every organization-scoped endpoint.

The organization comes from the URL and is resolved right after authentication, in
`initial()`; every queryset starts from it. Subclasses declare their model, output
serializer, ordering and selector; they cannot override the methods that scope data
(`initial`, `get_queryset`, `get_object`): defining one is a TypeError at import time.
Narrower collections (a contact's conversations, ...) come through `scope_queryset`.
"""

from collections.abc import Callable
from typing import Any, ClassVar, cast

from django.db.models import Model
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.viewsets import GenericViewSet

from apps.keys.models import ApiKey
from apps.organizations.models import Organization, TenantModel, TenantQuerySet
from apps.organizations.selectors import organization_get
from hyperrep.api.exceptions import ResourceNotFound

SEALED = ("initial", "get_queryset", "get_object")


class OrganizationScopedViewSet(GenericViewSet):
    model: ClassVar[type[TenantModel]]
    # Reads the organization's rows: `selector(organization=...) -> QuerySet`.
    selector: ClassVar[Callable[..., TenantQuerySet]]
    # A total order ending in the internal id (the keyset of every page).
    ordering: ClassVar[tuple[str, ...]] = ("-created_at", "-id")
    lookup_value_regex = "[^/]+"
    organization: Organization

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in SEALED if name in cls.__dict__]
        if overridden:
            raise TypeError(f"{cls.__name__} must not override {', '.join(overridden)}")
        if "model" in cls.__dict__:
            cls.lookup_url_kwarg = f"{cls.model._meta.model_name}_id"
            # Read by the OpenAPI generator only: get_queryset() never falls back to it.
            cls.queryset = cls.model.objects.none()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        self.organization = organization_get(
            api_key=cast(ApiKey, request.auth), organization_id=kwargs["organization_id"]
        )

    def get_queryset(self) -> TenantQuerySet:
        return self.scope_queryset(type(self).selector(organization=self.organization))

    def scope_queryset(self, queryset: TenantQuerySet) -> TenantQuerySet:
        """Hook: narrow the organization's rows for this route."""
        return queryset

    def get_object(self) -> Model:
        name = self.lookup_url_kwarg
        assert name is not None
        found = self.get_queryset().by_public_id(self.kwargs[name], name)
        if found is None:
            verbose_name = str(self.model._meta.verbose_name)
            raise ResourceNotFound(f"{verbose_name[0].upper()}{verbose_name[1:]} not found")
        return found

    # -- the actions every resource has -----------------------------------------------------

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    # -- helpers for writes -----------------------------------------------------------------

    def read_body(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        """The request body validated by an input serializer (422 otherwise)."""
        if self.request.META.get("CONTENT_LENGTH", "0") not in ("", "0") and not (
            self.request.content_type
        ):
            # DRF would read a body without a Content-Type as empty: refuse it instead.
            raise UnsupportedMediaType("", detail="Content-Type must be application/json")
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def respond_with(self, instance: Model) -> Response:
        """Render a written row exactly as a read of it would."""
        return Response(self.get_serializer(self.get_queryset().get(pk=instance.pk)).data)
