import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    # The channel model as it was in the drafts app, whose table drafts/0004 renamed; then
    # its organization column as every tenant table's (no index of its own: the one-per-kind
    # constraint leads with it).
    dependencies = [
        ("organizations", "0001_initial"),
        ("drafts", "0004_channel_moves_to_organizations"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Channel",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[("email", "Email"), ("text", "Text")], max_length=16
                            ),
                        ),
                        ("enabled", models.BooleanField(default=True)),
                        ("settings", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "organization",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="channels",
                                to="organizations.organization",
                            ),
                        ),
                    ],
                    options={
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("organization", "kind"), name="channel_one_per_kind"
                            )
                        ],
                    },
                ),
            ]
        ),
        migrations.AlterField(
            model_name="channel",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="organizations.organization",
            ),
        ),
    ]
