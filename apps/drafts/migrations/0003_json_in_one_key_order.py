from django.db import migrations

from hyperrep.api.jsonb import reorder_stored


class Migration(migrations.Migration):
    # JSON objects stored on SQLite before their columns kept one key order (hyperrep.api.jsonb).
    dependencies = [("drafts", "0002_response_draft_history_serves_the_key")]

    operations = [
        reorder_stored("drafts.Channel", "settings"),
    ]
