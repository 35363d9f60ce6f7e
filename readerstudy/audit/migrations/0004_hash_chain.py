"""Audit events form a hash chain: each stores its place, its predecessor's hash and its own.

The existing events are chained in the order they were written (by id). 0003's trigger refuses
every UPDATE of an event, so this migration lifts it for the backfill and puts it back at the
end, inside the same transaction on PostgreSQL. On SQLite adding these columns rebuilds the table,
which drops its triggers anyway: the trigger is recreated at the end whatever happened to it.
"""

from django.db import migrations, models
from django.utils import timezone

from readerstudy.audit.chain import GENESIS, event_hash

MESSAGE = "audit events are append-only"
BATCH = 1000


def _trigger_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_append_only;")


def _trigger_create(apps, schema_editor):
    # The same guard as 0003 (whose PostgreSQL function is kept and reused).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            """CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();"""
        )
    else:
        schema_editor.execute(
            f"""CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"""
        )


def _chain_backfill(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    previous_hash = GENESIS
    batch = []
    events = AuditEvent.objects.using(schema_editor.connection.alias).order_by("id")
    for sequence, event in enumerate(events.iterator(chunk_size=BATCH), start=1):
        event.sequence = sequence
        event.previous_hash = previous_hash
        event.hash = event_hash(
            sequence=sequence,
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            study_id=event.study_id,
            target_type=event.target_type,
            target_id=event.target_id,
            data=event.data,
            previous_hash=previous_hash,
        )
        previous_hash = event.hash
        batch.append(event)
        if len(batch) == BATCH:
            AuditEvent.objects.bulk_update(batch, ["sequence", "previous_hash", "hash"])
            batch = []
    AuditEvent.objects.bulk_update(batch, ["sequence", "previous_hash", "hash"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only")]

    operations = [
        migrations.RunPython(_trigger_drop, _trigger_create),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["sequence"]}),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(_chain_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(
                editable=False,
                help_text="Place in the hash chain: 1, 2, 3, … without gaps.",
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(
                editable=False,
                help_text="The preceding event's hash.",
                max_length=64,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(
                editable=False,
                help_text="SHA-256 of this event's content and the preceding event's hash.",
                max_length=64,
                unique=True,
            ),
        ),
        migrations.RunPython(_trigger_create, _trigger_drop),
    ]
