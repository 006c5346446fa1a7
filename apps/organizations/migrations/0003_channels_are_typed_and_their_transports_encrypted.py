import secrets

import django.utils.timezone
from django.db import migrations, models

import apps.organizations.models


def fill_tokens_and_senders(apps, schema_editor):
    """Frozen with this migration: every channel gets its own inbound token (a default would
    give all of them one), and its sender from the untyped settings it had. Transports were
    never stored: a channel has none until one is configured."""
    channels = apps.get_model("organizations", "Channel")._base_manager.using(
        schema_editor.connection.alias
    )
    for channel in channels.all():
        settings = channel.settings if isinstance(channel.settings, dict) else {}
        sender = settings.get("from") or settings.get("from_email") or settings.get("from_number")
        channel.inbound_token = secrets.token_urlsafe(24)
        channel.sender = str(sender)[:255] if sender else ""
        channel.save(update_fields=["inbound_token", "sender"])


class Migration(migrations.Migration):
    dependencies = [("organizations", "0002_channel")]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="kind",
            field=models.CharField(
                choices=[("email", "Email"), ("text", "Text"), ("form", "Form")], max_length=16
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="sender",
            field=models.CharField(
                blank=True,
                help_text="Email: an address with an optional name, Acme Roofing "
                "<sales@acme.example>. Text: a number, +15135550100.",
                max_length=255,
                verbose_name="from",
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="transport_sealed",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="channel",
            name="transport_shown",
            field=models.CharField(
                blank=True, editable=False, max_length=2000, verbose_name="transport"
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="reply_domain",
            field=models.CharField(
                blank=True,
                help_text="Email: replies go to reply+<token>@ this domain, which names the "
                "conversation.",
                max_length=253,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="channel",
            name="updated_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="channel",
            name="inbound_token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(fill_tokens_and_senders, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="channel",
            name="inbound_token",
            field=models.CharField(
                default=apps.organizations.models.mint_inbound_token, max_length=64, unique=True
            ),
        ),
        migrations.RemoveField(model_name="channel", name="settings"),
    ]
