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
    descriptions = {
        "list": "The organization's contacts, newest first. `email` matches case-insensitively; "
        "`phone_number` matches however the number is written (compared in E.164); "
        "`start_date`/`end_date` bound `created_at`.",
        "retrieve": "One contact of the organization.",
        "create": "Create a contact: at least one of `name`, `email` and `phone_number`. The "
        "number is kept as written and must be a possible phone number; `company_id` must be a "
        "company of this organization (`400 Invalid company_id`).",
    }

    @extend_schema(request=ContactCreateSerializer, responses={200: ContactSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.read_body(ContactCreateSerializer)
        return self.respond_with(contact_create(organization=self.organization, **body))
