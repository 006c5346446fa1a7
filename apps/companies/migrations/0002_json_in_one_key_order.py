from django.db import migrations

from hyperrep.frozen import reorder_json_2026_11


class Migration(migrations.Migration):
    # JSON objects stored on SQLite before their columns kept one key order (hyperrep.jsonb).
    dependencies = [("companies", "0001_initial")]

    operations = [
        reorder_json_2026_11("companies.Company", "custom_fields"),
    ]
