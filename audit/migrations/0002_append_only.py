from django.db import migrations

# The audit log is append-only: the database itself refuses UPDATE and DELETE on it, whoever
# asks. TRUNCATE stays possible for test teardown and deliberate archiving.
FORWARDS = """
CREATE FUNCTION audit_auditlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditlog is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new entry instead of changing or deleting one.';
END
$$;
CREATE TRIGGER audit_auditlog_append_only
    BEFORE UPDATE OR DELETE ON audit_auditlog
    FOR EACH ROW EXECUTE FUNCTION audit_auditlog_refuse_change();
"""

BACKWARDS = """
DROP TRIGGER audit_auditlog_append_only ON audit_auditlog;
DROP FUNCTION audit_auditlog_refuse_change();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(FORWARDS, BACKWARDS),
    ]
