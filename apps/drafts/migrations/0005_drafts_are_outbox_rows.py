import secrets
import string

from django.db import migrations, models
from django.db.models import F, Q

import apps.drafts.models

BASE62 = string.digits + string.ascii_letters


def mint_message_ids_and_make_scheduled_drafts_due(apps, schema_editor):
    """Frozen with this migration: every draft gets the public id of the message it becomes
    (a default would give all of them one), and the drafts scheduled before the worker
    existed become due at their scheduled time, so the first worker delivers them."""
    alias = schema_editor.connection.alias
    for name in ("MessageDraft", "ResponseDraft"):
        drafts = apps.get_model("drafts", name)._base_manager.using(alias)
        for pk in drafts.values_list("pk", flat=True).iterator():
            public_id = "msg_" + "".join(secrets.choice(BASE62) for _ in range(22))
            drafts.filter(pk=pk).update(message_public_id=public_id)
        drafts.filter(status="scheduled").update(next_attempt_at=F("scheduled_send_at"))


OUTBOX_FIELDS = [
    ("next_attempt_at", models.DateTimeField(blank=True, editable=False, null=True)),
    ("attempts", models.PositiveIntegerField(default=0, editable=False)),
    ("last_error", models.TextField(blank=True, editable=False, null=True)),
    ("claimed_until", models.DateTimeField(blank=True, editable=False, null=True)),
    ("claimed_by", models.CharField(blank=True, editable=False, max_length=100, null=True)),
    ("message_public_id", models.CharField(editable=False, max_length=255, null=True)),
    (
        "provider_message_id",
        models.CharField(blank=True, editable=False, max_length=255, null=True),
    ),
]


class Migration(migrations.Migration):
    dependencies = [("drafts", "0004_channel_moves_to_organizations")]

    operations = [
        migrations.RemoveIndex(model_name="messagedraft", name="mdr_due"),
        migrations.RemoveIndex(model_name="responsedraft", name="rdr_due"),
        *[
            migrations.AddField(model_name=model, name=name, field=field)
            for model in ("messagedraft", "responsedraft")
            for name, field in OUTBOX_FIELDS
        ],
        migrations.RunPython(mint_message_ids_and_make_scheduled_drafts_due, migrations.RunPython.noop),
        *[
            migrations.AlterField(
                model_name=model,
                name="message_public_id",
                field=models.CharField(
                    default=apps.drafts.models.mint_message_id, editable=False, max_length=255
                ),
            )
            for model in ("messagedraft", "responsedraft")
        ],
        *[
            migrations.AddIndex(
                model_name=model,
                index=models.Index(
                    condition=Q(next_attempt_at__isnull=False),
                    fields=["next_attempt_at", "id"],
                    name=name,
                ),
            )
            for model, name in (("messagedraft", "mdr_due"), ("responsedraft", "rdr_due"))
        ],
    ]
