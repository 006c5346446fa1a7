from django.db import migrations

from hyperrep.api.jsonb import reorder_stored


class Migration(migrations.Migration):
    # JSON objects stored on SQLite before their columns kept one key order (hyperrep.api.jsonb).
    dependencies = [("sales", "0001_initial")]

    operations = [
        reorder_stored("sales.Sale", "quote_details", "custom_fields"),
    ]
