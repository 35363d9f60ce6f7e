"""The audit log is append-only: the database refuses to update an event."""

from django.db import migrations

MESSAGE = "audit events are append-only"


def _apply(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"""CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; END
            $$ LANGUAGE plpgsql;"""
        )
        schema_editor.execute(
            """CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();"""
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"""CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON audit_auditevent
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"""
        )
    else:
        raise RuntimeError(f"No audit guard for database {vendor}")


def _revert(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;")
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_event_append_only();")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_append_only;")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_initial")]

    operations = [migrations.RunPython(_apply, _revert)]
