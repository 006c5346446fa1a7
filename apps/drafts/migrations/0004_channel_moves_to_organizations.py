from django.db import migrations


class Migration(migrations.Migration):
    # Channels are an organization's configuration: the model now lives in the organizations
    # app (organizations/0002), and its table is renamed to match. No row moves.
    dependencies = [("drafts", "0003_json_in_one_key_order")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="channel", table="organizations_channel"),
            ],
            state_operations=[migrations.DeleteModel(name="channel")],
        )
    ]
