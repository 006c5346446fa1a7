from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.mixins import ListModelMixin, RetrieveModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from apps.contacts.filters import ContactFilter
from apps.contacts.models import Contact
from apps.contacts.selectors import contact_list
from apps.contacts.serializers import ContactCreateSerializer, ContactSerializer
from apps.contacts.services import contact_create
from hyperrep.api.viewsets import OrganizationScopedViewSet


class ContactViewSet(ListModelMixin, RetrieveModelMixin, OrganizationScopedViewSet):
    model = Contact
    selector = contact_list
    serializer_class = ContactSerializer
    filterset_class = ContactFilter

    @extend_schema(request=ContactCreateSerializer, responses={200: ContactSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.read_body(ContactCreateSerializer)
        return self.respond_with(contact_create(organization=self.organization, **body))
