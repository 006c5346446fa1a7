from django.db import migrations

from hyperrep.frozen import reorder_json_2026_11


class Migration(migrations.Migration):
    # JSON objects stored on SQLite before their columns kept one key order (hyperrep.jsonb).
    dependencies = [("drafts", "0002_response_draft_history_serves_the_key")]

    operations = [
        reorder_json_2026_11("drafts.Channel", "settings"),
    ]
