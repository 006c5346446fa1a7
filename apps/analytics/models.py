"""Rollups of conversations and messages by time, so that a window's figures sum a few
thousand rows instead of reading every message (rollup.py keeps them exact).

They are tenant rows (hyperrep.tenancy): each carries its organization, and every unique key
leads with it. The organization is a plain column (no foreign-key constraint): the database's
own triggers write these rows while Django deletes an organization's messages, in an order
Django chooses; the rows of a deleted organization are removed after it (apps.py).
"""

from django.db import models

from hyperrep.tenancy.models import TenantModel


class Rollup(TenantModel):
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta(TenantModel.Meta):
        abstract = True


class HourlyTotals(Rollup):
    """What an hour (UTC) of an organization adds to every additive figure: messages by
    their `sent_at`, conversations by `start_at`, first inbound messages (by modality) and
    their responses by the conversation's `first_inbound_at`."""

    hour = models.DateTimeField()
    messages_received = models.IntegerField(db_default=0)
    messages_sent = models.IntegerField(db_default=0)
    conversations_started = models.IntegerField(db_default=0)
    first_inbound_email = models.IntegerField(db_default=0)
    first_inbound_text = models.IntegerField(db_default=0)
    first_inbound_call = models.IntegerField(db_default=0)
    first_inbound_live_chat = models.IntegerField(db_default=0)
    first_inbound_form = models.IntegerField(db_default=0)
    responded = models.IntegerField(db_default=0)
    response_time_us = models.BigIntegerField(db_default=0)  # the sum over the responded

    class Meta:
        verbose_name_plural = "hourly totals"
        constraints = [
            models.UniqueConstraint(fields=["organization", "hour"], name="hourly_totals_hour")
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} UTC"


class DailyResponseBand(Rollup):
    """How many conversations whose first inbound message came on a day (UTC) were answered
    within a band of response times (rollup.BANDS): what ranks a percentile without sorting
    every response time of the window."""

    day = models.DateTimeField()
    band = models.IntegerField()
    conversations = models.IntegerField(db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "band"], name="daily_response_band_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}, band {self.band}"
