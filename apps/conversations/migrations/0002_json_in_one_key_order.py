from django.db import migrations

from hyperrep.api.jsonb import reorder_stored


class Migration(migrations.Migration):
    # JSON objects stored on SQLite before their columns kept one key order (hyperrep.api.jsonb).
    dependencies = [("conversations", "0001_initial")]

    operations = [
        reorder_stored("conversations.Message", "form_request_body"),
    ]
