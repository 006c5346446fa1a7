from typing import Any

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.companies.models import Company
from hyperrep import ids, phones
from hyperrep.jsonb import JSONField
from hyperrep.tenancy.models import PublicIdModel


class Contact(PublicIdModel):
    """A person the organization talks to. Emails need not be unique (imports have
    duplicates); lookups by email are case-insensitive and indexed. The phone number is kept
    as given; lookups by number go through its E.164 form (hyperrep/phones.py), which every
    save derives from it (and the import and the demo seed write with their rows)."""

    public_id = ids.PublicIdField(prefix="ctc")
    name = models.CharField(max_length=255, null=True, blank=True)
    email = models.CharField(max_length=254, null=True, blank=True)
    phone_number = models.CharField(
        max_length=64, null=True, blank=True, validators=[phones.validate_phone_number]
    )
    phone_e164 = models.CharField(max_length=16, null=True, blank=True, editable=False)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    company_role = models.CharField(max_length=255, null=True, blank=True)
    custom_fields = JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(PublicIdModel.Meta):
        indexes = [
            models.Index(
                fields=["organization", "-created_at", "-id"], name="contact_newest_first"
            ),
            models.Index(
                "organization",
                Lower("email"),
                models.F("created_at").desc(),
                models.F("id").desc(),
                name="contact_by_email",
            ),
            models.Index(
                fields=["organization", "phone_e164", "-created_at", "-id"],
                name="contact_by_phone",
            ),
            models.Index(
                fields=["organization", "company", "-created_at", "-id"],
                name="contact_by_company",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.phone_e164 = phones.to_e164(self.phone_number)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "phone_number" in update_fields:
            kwargs["update_fields"] = {*update_fields, "phone_e164"}
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.name or self.email or self.phone_number or self.public_id
