"""The columns every outbox row has."""

from django.db import models

from hyperrep.logs import enqueuing_request_id


class OutboxItem(models.Model):
    """A row some work is due for. `next_attempt_at` is when (null: nothing to do); a worker
    that claims the row holds it until `claimed_until`, and records each attempt's outcome:
    `attempts` counts them and `last_error` says why the latest one did not succeed."""

    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveIntegerField(default=0, editable=False)
    last_error = models.TextField(null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_by = models.CharField(max_length=100, null=True, blank=True, editable=False)
    # The X-Request-ID of the request that enqueued the row ("" for none): each attempt's log
    # lines carry it.
    request_id = models.CharField(
        max_length=128, blank=True, default=enqueuing_request_id, editable=False
    )

    class Meta:
        abstract = True

    @classmethod
    def due_index(cls, name: str) -> models.Index:
        """The index the worker claims by: only the rows something is due for."""
        return models.Index(
            fields=["next_attempt_at", "id"],
            condition=models.Q(next_attempt_at__isnull=False),
            name=name,
        )
