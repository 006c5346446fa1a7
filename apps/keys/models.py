from django.db import models

from apps.organizations.models import Organization


class ApiKey(models.Model):
    """An API key. Only its lookup prefix and an HMAC-SHA256 digest are stored."""

    prefix = models.CharField(max_length=8, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    name = models.CharField(max_length=200, blank=True)
    organizations = models.ManyToManyField(Organization, related_name="api_keys")
    is_active = models.BooleanField(default=True)
    read_only = models.BooleanField(default=False, help_text="Read-only keys get 403 on POST.")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"hrk_{self.prefix}_… {self.name}".strip()
