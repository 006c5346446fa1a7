from django.db import migrations

from hyperrep.api.jsonb import reorder_stored


class Migration(migrations.Migration):
    # JSON objects stored on SQLite before their columns kept one key order (hyperrep.api.jsonb).
    dependencies = [("companies", "0001_initial")]

    operations = [
        reorder_stored("companies.Company", "custom_fields"),
    ]
