"""The audit log is append-only (TRUNCATE and ``flush`` refused too) and tamper-evident: a
keyed hash chain that ``manage.py audit_verify`` walks.

Tampering is done as a table owner would: in a session of its own, with the append-only
triggers disabled for the moment of the edit.
"""

from __future__ import annotations

import datetime
import decimal

import psycopg
import pytest
from django.contrib.auth import get_user_model

from audit import writer
from audit.models import AppendOnlyError, AuditAction, AuditLog
from tests.fresh_database import manage_in, query, session_in
from tests.helpers import run_command
from tests.processes import run_manage, second_session, spawn_manage

pytestmark = pytest.mark.django_db(transaction=True)

WRITE_ENTRIES = """
from audit.models import AuditLog
for number in range({count}):
    AuditLog.objects.create(action="BET_PLACED", message=f"{name} {{number}}")
"""


def make_entries(count: int, prefix: str = "entry") -> list[AuditLog]:
    return [
        AuditLog.objects.create(
            action=AuditAction.BET_PLACED, message=f"{prefix} {number}",
            details={"number": number},
        )
        for number in range(count)
    ]


def tamper(*statements: tuple[str, list]) -> None:
    """Run ``statements`` as the table owner would, with the log's triggers disabled."""
    with second_session(autocommit=False) as owner:
        owner.execute("ALTER TABLE audit_auditlog DISABLE TRIGGER USER")
        for statement, params in statements:
            owner.execute(statement, params)
        owner.execute("ALTER TABLE audit_auditlog ENABLE TRIGGER USER")
        owner.commit()


def verify(*args: str) -> tuple[str, str, int]:
    return run_command("audit_verify", *args)


def head_of(out: str) -> str:
    (line,) = [line for line in out.splitlines() if line.startswith("Head: ")]
    return line.removeprefix("Head: ")


def describe(entry: AuditLog, at: AuditLog | None = None, start: bool = False) -> str:
    """How audit_verify names ``entry`` (found in the row of ``at``, if it was moved there)."""
    created = entry.created_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{'Entry' if start else 'entry'} {(at or entry).pk} ({created}, {entry.action})"


def test_truncate__as_an_operator__refused_and_rows_kept():
    entry = make_entries(1)[0]
    with (
        second_session() as operator,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only: TRUNCATE"),
    ):
        operator.execute("TRUNCATE audit_auditlog")
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_flush__run_by_an_operator__refused_and_nothing_emptied(django_user_model):
    entry = make_entries(1)[0]
    django_user_model.objects.create_user("keeper")

    done = run_manage("flush", "--noinput")

    assert done.returncode == 1
    assert "couldn't be flushed" in done.stderr  # Django's words; the trigger's are the cause
    assert AuditLog.objects.filter(pk=entry.pk).exists()
    assert django_user_model.objects.filter(username="keeper").exists()


def test_entries__written_by_the_application__chained_and_verified():
    entries = make_entries(3)
    user = get_user_model().objects.create_user("actor")
    entries.append(AuditLog.objects.create(
        action=AuditAction.BET_SETTLED, message="ünïcode ✓ \"quoted\"\nnewline", actor=user,
        details={"amount": decimal.Decimal("12.50"), "at": datetime.datetime(2026, 1, 2, 3, 4, 5),
                 "nested": {"b": [1, 2.5, None, True], "a": "é"}, "big": 10**20},
    ))

    out, err, code = verify()

    assert code == 0, err
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.previous_digest == before.digest
    count, digest = head_of(out).split(":")
    assert digest == entries[-1].digest
    assert int(count) == AuditLog.objects.count()
    assert f"Audit log verified: {count} entries" in out


def test_verify__message_changed_with_triggers_disabled__names_that_entry():
    entries = make_entries(5)
    tamper(("UPDATE audit_auditlog SET message = 'harmless' WHERE id = %s", [entries[2].pk]))

    _out, err, code = verify()

    assert code == 1
    assert f"{describe(entries[2], start=True)} was changed or inserted" in err


def test_verify__entry_deleted_with_triggers_disabled__names_the_entry_after_the_gap():
    entries = make_entries(5)
    tamper(("DELETE FROM audit_auditlog WHERE id = %s", [entries[2].pk]))

    _out, err, code = verify()

    assert code == 1
    assert "Entries were removed from the audit log" in err
    assert f"{describe(entries[3])} was written after an entry that is no longer there" in err
    assert f"now follows {describe(entries[1])}" in err


def test_verify__row_inserted_by_sql_with_a_made_up_hash__names_it():
    entries = make_entries(2)
    with second_session() as intruder:
        (forged_id,) = intruder.execute(
            "INSERT INTO audit_auditlog (action, message, details, created_at, previous_digest, "
            "digest) VALUES ('BET_SETTLED', 'forged', '{}', now(), %s, %s) RETURNING id",
            [entries[-1].digest, "f" * 64],
        ).fetchone()
    forged = AuditLog.objects.get(pk=forged_id)

    _out, err, code = verify()

    assert code == 1
    assert f"{describe(forged, start=True)} was changed or inserted" in err


def test_verify__two_entries_contents_swapped__names_the_first_of_them():
    entries = make_entries(5)
    first, second = entries[1], entries[3]
    columns = "action, message, details, created_at, actor_id, previous_digest, digest"
    tamper((
        f"UPDATE audit_auditlog AS a SET ({columns}) = (SELECT {columns} FROM audit_auditlog b "
        "WHERE b.id = CASE a.id WHEN %s THEN %s ELSE %s END) WHERE a.id IN (%s, %s)",
        [first.pk, second.pk, first.pk, first.pk, second.pk],
    ))

    _out, err, code = verify()

    assert code == 1
    assert "The audit log was reordered" in err
    assert f"{describe(second, at=first)} was written after {describe(entries[2])}" in err
    assert f"now follows {describe(entries[0])}" in err


def test_verify__head_kept__later_entries_extend_it_and_a_cut_tail_is_caught():
    make_entries(3)
    out, err, code = verify()
    assert code == 0, err
    kept = head_of(out)

    later = make_entries(2, prefix="later")
    out, err, code = verify("--head", kept)
    assert code == 0, err
    assert f"It extends the head kept earlier ({kept})" in out

    tamper(("DELETE FROM audit_auditlog WHERE id = ANY(%s)", [[entry.pk for entry in later]]))
    out, err, code = verify()
    assert code == 0, err  # a cut tail leaves a valid, shorter chain...
    assert head_of(out) == kept
    tamper(("DELETE FROM audit_auditlog WHERE id = (SELECT max(id) FROM audit_auditlog)", []))
    _out, err, code = verify("--head", kept)
    assert code == 1  # ...which only a head kept elsewhere shows
    count = int(kept.split(":")[0])
    assert f"the head kept earlier counted {count} entries, the log now has {count - 1}" in err


def test_verify__head_replaced_by_another_log__caught():
    make_entries(2)
    out, _err, _code = verify()
    count, _digest = head_of(out).split(":")

    _out, err, code = verify("--head", f"{count}:{'0' * 64}")

    assert code == 1
    assert f"the entry at position {count} has another digest" in err


@pytest.mark.parametrize("head", ["7", "7:xyz", "abc:" + "0" * 64, "3:"])
def test_verify__malformed_head__command_error(head):
    _out, err, code = verify("--head", head)

    assert code == 1
    assert f"--head {head!r} is not a head printed by audit_verify" in err


def test_verify__another_key__first_entry_fails_with_a_hint(settings):
    make_entries(1)
    settings.AUDIT_HMAC_KEY = "not-the-key-the-entries-were-written-with"

    _out, err, code = verify()

    assert code == 1
    assert "AUDIT_HMAC_KEY" in err and "differs from the key" in err


def test_chain__two_processes_writing_at_once__one_unbroken_chain():
    before = AuditLog.objects.count()
    count = 40
    with second_session() as gate:
        # Both processes queue behind this lock, so their writes start together.
        gate.execute("SELECT pg_advisory_lock(%s, %s)", writer.CHAIN_LOCK)
        writers = [
            spawn_manage("shell", "-c", WRITE_ENTRIES.format(count=count, name=name))
            for name in ("first", "second")
        ]
        for _attempt in range(600):
            (waiting,) = gate.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND classid = %s AND objid = %s AND objsubid = 2", writer.CHAIN_LOCK,
            ).fetchone()
            if waiting == 2 or any(process.poll() is not None for process in writers):
                break
            gate.execute("SELECT pg_sleep(0.1)")
        assert waiting == 2
        gate.execute("SELECT pg_advisory_unlock(%s, %s)", writer.CHAIN_LOCK)
    for process in writers:
        _stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr

    done = run_manage("audit_verify")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Audit log verified: {before + 2 * count} entries")
    messages = AuditLog.objects.order_by("id").values_list("message", flat=True)[before:]
    assert sorted(messages) == sorted(
        f"{name} {number}" for name in ("first", "second") for number in range(count)
    )


def test_migration__existing_entries_linked_despite_the_append_only_trigger(empty_database):
    early = manage_in(empty_database, "migrate", "audit", "0002")
    assert early.returncode == 0, early.stderr
    with session_in(empty_database) as session:
        session.execute(
            "INSERT INTO audit_auditlog (action, message, details, created_at) VALUES "
            "('BET_PLACED', 'old one', '{\"n\": 1}', now() - interval '1 day'), "
            "('BET_SETTLED', 'old two', '{}', now())"
        )

    done = manage_in(empty_database, "migrate")
    assert done.returncode == 0, done.stderr

    rows = query(empty_database, "SELECT message, previous_digest, digest FROM audit_auditlog "
                                 "ORDER BY id")
    assert [row[0] for row in rows[:2]] == ["old one", "old two"]
    assert rows[0][1] == "" and rows[1][1] == rows[0][2] and len(rows[0][2]) == 64
    verified = manage_in(empty_database, "audit_verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"Audit log verified: {len(rows)} entries")
    with (
        session_in(empty_database) as session,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
    ):
        session.execute("UPDATE audit_auditlog SET message = 'x'")


def test_admin_detail__shows_the_shortened_digest(client, django_user_model):
    entry = make_entries(1)[0]
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))

    page = client.get(f"/admin/audit/auditlog/{entry.pk}/change/").content.decode()

    assert f'<span title="{entry.digest}">{entry.digest[:16]}…</span>' in page


def test_verify__unknown_database__command_error():
    _out, err, code = verify("--database", "nope")

    assert code == 1
    assert "There is no database 'nope' in DATABASES" in err


def test_entries__saved_again_refused_and_bulk_created_one_link_each():
    entry = make_entries(1)[0]
    entry.message = "rewritten"
    with pytest.raises(AppendOnlyError, match=f"Audit entry {entry.pk} is already recorded"):
        entry.save()

    bulk = AuditLog.objects.bulk_create(
        AuditLog(action=AuditAction.BET_PLACED, message=f"bulk {number}") for number in range(3)
    )

    assert [item.previous_digest for item in bulk] == [entry.digest, bulk[0].digest,
                                                       bulk[1].digest]
    assert AuditLog.objects.get(pk=entry.pk).message == "entry 0"
    assert verify()[2] == 0
