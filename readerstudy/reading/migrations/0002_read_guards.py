"""Database guards for reads: a read is never updated, and a revision extends its own chain.

Check constraints cannot look at other rows, so the chain rule (a revision supersedes the previous
revision of the same session and case) is a trigger; PostgreSQL and SQLite each get their own.
"""

from django.db import migrations

IMMUTABLE = "reads are immutable: submit a new revision instead"
CHAIN = "a revision must supersede the previous revision of the same session and case"

POSTGRES_UP = f"""
CREATE FUNCTION reading_read_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION '{IMMUTABLE}' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF NEW.supersedes_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM reading_read r WHERE r.id = NEW.supersedes_id AND r.session_id = NEW.session_id
      AND r.case_id = NEW.case_id AND r.revision = NEW.revision - 1
  ) THEN
    RAISE EXCEPTION '{CHAIN}' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER reading_read_guard BEFORE INSERT OR UPDATE ON reading_read
  FOR EACH ROW EXECUTE FUNCTION reading_read_guard();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS reading_read_guard ON reading_read;
DROP FUNCTION IF EXISTS reading_read_guard();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER reading_read_immutable BEFORE UPDATE ON reading_read
    BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END;""",
    f"""CREATE TRIGGER reading_read_chain BEFORE INSERT ON reading_read
    WHEN NEW.supersedes_id IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM reading_read r WHERE r.id = NEW.supersedes_id AND r.session_id = NEW.session_id
        AND r.case_id = NEW.case_id AND r.revision = NEW.revision - 1)
    BEGIN SELECT RAISE(ABORT, '{CHAIN}'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS reading_read_immutable;",
    "DROP TRIGGER IF EXISTS reading_read_chain;",
]


def _run(statements_by_vendor):
    def apply(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"No read guards for database {schema_editor.connection.vendor}")
        for statement in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("reading", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
