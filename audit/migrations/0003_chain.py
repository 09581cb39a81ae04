"""Link every entry into the keyed hash chain, and refuse TRUNCATE as well.

Entries already in the log get their digests here, in id order, under the chain's lock. The
append-only trigger refuses UPDATE, so it is disabled for this migration's own transaction
only: ``ALTER TABLE`` holds the table against every other writer until the commit, and a
failure rolls the whole step back with the trigger in place.
"""

from django.db import migrations, models

from audit import chain, writer

TRIGGER = "audit_auditlog_append_only"
BATCH = 10_000

# TRUNCATE bypasses row triggers, so a statement trigger refuses it too. Only a session that
# sets betintel.audit_truncate to 'allowed' may empty the log (the test suite's teardown does,
# see tests/conftest.py); an operator's TRUNCATE or `manage.py flush` is refused.
FORWARDS = """
CREATE OR REPLACE FUNCTION audit_auditlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('betintel.audit_truncate', true) = 'allowed' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_auditlog is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new entry instead of changing, deleting or truncating.';
END
$$;
CREATE TRIGGER audit_auditlog_no_truncate
    BEFORE TRUNCATE ON audit_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditlog_refuse_change();
"""

BACKWARDS = """
DROP TRIGGER audit_auditlog_no_truncate ON audit_auditlog;
CREATE OR REPLACE FUNCTION audit_auditlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditlog is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new entry instead of changing or deleting one.';
END
$$;
"""


def link_existing_entries(apps, schema_editor):
    connection = schema_editor.connection
    table = apps.get_model("audit", "AuditLog")._meta.db_table
    writer.lock(connection)
    page = writer.sql_text(
        connection, "SELECT " + chain.LINK_COLUMNS + " FROM {} WHERE id > %s ORDER BY id LIMIT %s",
        table,
    )
    update = writer.sql_text(
        connection,
        "UPDATE {} AS entry SET previous_digest = link.previous, digest = link.digest "
        "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS link(id, previous, digest) "
        "WHERE entry.id = link.id",
        table,
    )
    with connection.cursor() as cursor:
        cursor.execute(writer.sql_text(connection, "ALTER TABLE {} DISABLE TRIGGER {}", table, TRIGGER))
        previous, last_id = "", -(1 << 62)
        while True:
            cursor.execute(page, [last_id, BATCH])
            rows = cursor.fetchall()
            if not rows:
                break
            ids, previous_digests, digests = [], [], []
            for row in rows:
                link = chain.Link.from_row(row)
                ids.append(link.id)
                previous_digests.append(previous)
                previous = link.expected_digest(previous)
                digests.append(previous)
            cursor.execute(update, [ids, previous_digests, digests])
            last_id = ids[-1]
        cursor.execute(writer.sql_text(connection, "ALTER TABLE {} ENABLE TRIGGER {}", table, TRIGGER))


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditlog",
            name="previous_digest",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="auditlog",
            name="digest",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(link_existing_entries, migrations.RunPython.noop),
        migrations.RunSQL(FORWARDS, BACKWARDS),
    ]
