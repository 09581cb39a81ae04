"""Old code beside a newer database (SPEC §10): values the code lacks never make a server error.

During a rolling deploy a newer release may have added a label to a type (and rows may hold
it), or removed one the running code still names. Filters naming a value the type lacks give an
empty result; rows holding a value the code does not know are shown as they are, marked
unknown, and keep it when saved unchanged.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.models import CheckConstraint, Q
from django.urls import reverse
from psycopg import sql

from audit.models import AuditAction, AuditLog
from betintel.enums import swap
from bets.models import Bet
from tests.enumapp.models import Paint
from tests.helpers import run_sql

BETS_URL = "/admin/bets/bet/"
AUDIT_URL = "/admin/audit/auditlog/"
NEWER_VALUE = "player_steals"


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    return client


def make_bet(bet_type: str = "h2h", selection: str = "a bet") -> Bet:
    return Bet.objects.create(
        sport="soccer", bet_type=bet_type, selection=selection, odds="2.000", stake="1.00"
    )


def _execute(statement: sql.Composable) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def _results(response) -> list:
    return list(response.context["cl"].result_list)


# Filters and query strings naming a value the type lacks.


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"bet_type__exact": "bogus"},
        {"status__exact": ""},
        {"bet_type": "bogus"},
        {"sport__exact": "x" * 100},
        {"status__exact": "pending\x00"},
        {"bet_type__lte": "bogus"},
    ],
)
def test_bets_changelist__filter_value_the_type_lacks__empty_list(admin_client, query):
    make_bet()

    response = admin_client.get(BETS_URL, query)

    assert response.status_code == 200
    assert _results(response) == []


@pytest.mark.django_db
def test_bets_changelist__in_filter_with_a_value_the_type_lacks__lists_the_known_ones(
    admin_client,
):
    kept = make_bet("h2h")
    make_bet("totals")

    response = admin_client.get(BETS_URL, {"bet_type__in": "h2h,bogus"})

    assert response.status_code == 200
    assert _results(response) == [kept]


@pytest.mark.django_db
def test_bets_changelist__range_that_is_not_a_pair__invalid_filter_answer(admin_client):
    response = admin_client.get(BETS_URL, {"bet_type__range": "a,b"})

    assert response.status_code == 302
    assert response["Location"] == f"{BETS_URL}?e=1"


@pytest.mark.django_db
def test_audit_changelist__action_the_type_lacks__empty_list(admin_client):
    AuditLog.objects.create(action=AuditAction.BET_PLACED, message="placed")

    response = admin_client.get(AUDIT_URL, {"action__exact": "NOPE"})

    assert response.status_code == 200
    assert _results(response) == []


@pytest.mark.django_db
def test_orm_filter__value_outside_the_type__empty_result_not_data_error():
    bet = make_bet("h2h")

    assert list(Bet.objects.filter(bet_type="bogus")) == []
    assert list(Bet.objects.filter(bet_type__in=["bogus", "h2h"])) == [bet]
    assert list(Bet.objects.filter(bet_type__gt="bogus")) == []
    assert list(Bet.objects.exclude(status="")) == [bet]
    assert Bet.objects.filter(bet_type="bogus").count() == 0
    assert list(Bet.objects.filter(bet_type__range=("h2h", "bogus"))) == []
    assert list(Bet.objects.filter(bet_type__range=("h2h", "totals"))) == [bet]
    assert list(Bet.objects.exclude(bet_type__in=["bogus"])) == [bet]


@pytest.mark.django_db
def test_orm_filter__active_value__compared_as_a_plain_literal():
    # The planner's per-value statistics only help a literal: known values keep it.
    query = str(Bet.objects.filter(bet_type="h2h").query)
    unknown = str(Bet.objects.filter(bet_type="bogus").query)

    assert "pg_enum" not in query and "= h2h" in query
    assert "pg_enum" in unknown


@pytest.mark.django_db
def test_constraint_condition__compiles_to_a_literal_the_database_checks():
    constraint = CheckConstraint(condition=Q(finish="bogus"), name="paint_bogus")

    with connection.schema_editor() as editor:
        check = str(constraint.constraint_sql(Paint, editor))

    assert "pg_enum" not in check
    assert "'bogus'" in check


@pytest.fixture
def metallic_removed(transactional_db):
    """``finish_enum`` without ``metallic``, which the code still declares (deprecated): as
    after a newer release removed it while this release still runs."""
    comment = run_sql("SELECT obj_description('finish_enum'::regtype, 'pg_type')")[0][0]
    with connection.schema_editor() as editor:
        swap.remove_value(editor, "finish_enum", "metallic")
    yield
    run_sql("ALTER TYPE finish_enum ADD VALUE IF NOT EXISTS 'metallic'")
    _execute(sql.SQL("COMMENT ON TYPE finish_enum IS {}").format(sql.Literal(comment)))


def test_orm_filter__value_removed_from_the_type_since__empty_result(metallic_removed):
    paint = Paint.objects.create(name="kept", finish="gloss")

    assert list(Paint.objects.filter(finish="metallic")) == []
    assert list(Paint.objects.filter(finish__in=["metallic", "gloss"])) == [paint]


# A row holding a value the code does not know (a newer release added it).


@pytest.fixture
def newer_bet(transactional_db):
    """A bet holding ``player_steals``, a label added to ``bet_type_enum`` by SQL as a newer
    release would add it; the label goes again afterwards."""
    _execute(sql.SQL("ALTER TYPE bet_type_enum ADD VALUE {}").format(sql.Literal(NEWER_VALUE)))
    bet = make_bet(selection="from a newer release")
    run_sql("UPDATE bets_bet SET bet_type = %s WHERE id = %s", params=[NEWER_VALUE, bet.pk])
    bet.refresh_from_db()
    yield bet
    Bet.objects.all().delete()
    with connection.schema_editor() as editor:
        swap.remove_value(editor, "bet_type_enum", NEWER_VALUE)


def _change_url(bet: Bet) -> str:
    return reverse("admin:bets_bet_change", args=[bet.pk])


def _post_data(bet: Bet, **changes) -> dict:
    data = {
        "sport": bet.sport, "bet_type": bet.bet_type, "status": bet.status,
        "selection": bet.selection, "odds": str(bet.odds), "stake": str(bet.stake),
        "placed_at_0": bet.placed_at.strftime("%Y-%m-%d"),
        "placed_at_1": bet.placed_at.strftime("%H:%M:%S"),
    }
    return {**data, **changes}


def _refusals(value: str):
    return AuditLog.objects.filter(action=AuditAction.INVALID_ENUM_VALUE, details__value=value)


def test_change_form__value_unknown_to_the_code__shown_marked_and_selected(
    admin_client, newer_bet
):
    response = admin_client.get(_change_url(newer_bet))

    page = response.content.decode()
    assert response.status_code == 200
    selected = re.findall(r'<option value="([^"]*)" selected>([^<]*)</option>', page)
    assert ("player_steals", "player_steals (unknown value)") in selected


def test_change_form__saved_without_touching_the_unknown_value__keeps_it(
    admin_client, newer_bet
):
    response = admin_client.post(_change_url(newer_bet), _post_data(newer_bet, selection="kept"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    newer_bet.refresh_from_db()
    assert (newer_bet.bet_type, newer_bet.selection) == (NEWER_VALUE, "kept")
    assert not _refusals(NEWER_VALUE).exists()


def test_change_form__unknown_value_changed_to_a_valid_one__saved(admin_client, newer_bet):
    response = admin_client.post(_change_url(newer_bet), _post_data(newer_bet, bet_type="totals"))

    assert response.status_code == 302
    newer_bet.refresh_from_db()
    assert newer_bet.bet_type == "totals"


def test_add_form__posting_the_unknown_value__refused_as_unknown(admin_client, newer_bet):
    data = _post_data(newer_bet, selection="new")

    response = admin_client.post(reverse("admin:bets_bet_add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["bet_type"]
    assert errors[0].startswith("Invalid bet_type 'player_steals'")
    assert Bet.objects.filter(selection="new").count() == 0
    assert _refusals(NEWER_VALUE).get().details["reason"] == "unknown"


def test_change_form__another_bet_changed_to_the_unknown_value__refused(
    admin_client, newer_bet
):
    other = make_bet("h2h", selection="other")

    response = admin_client.post(_change_url(other), _post_data(other, bet_type=NEWER_VALUE))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["bet_type"][0].startswith(
        "Invalid bet_type 'player_steals'"
    )
    other.refresh_from_db()
    assert other.bet_type == "h2h"


def test_bets_changelist__unknown_value__column_filter_and_chart_show_it_marked(
    admin_client, newer_bet
):
    make_bet("h2h")

    response = admin_client.get(BETS_URL)
    filtered = admin_client.get(BETS_URL, {"bet_type__exact": NEWER_VALUE})

    page = response.content.decode()
    assert response.status_code == 200
    assert '<td class="field-bet_type">player_steals (unknown value)</td>' in page
    assert '<td class="field-bet_type">Moneyline</td>' in page
    bet_type_filter = response.context["cl"].filter_specs[0]
    shown = [choice["display"] for choice in bet_type_filter.choices(response.context["cl"])]
    assert shown[-1] == "player_steals (unknown value)"
    assert _results(filtered) == [newer_bet]
    chart = response.context["enum_charts"][0]
    bar = next(bar for bar in chart.bars if bar.value.value == NEWER_VALUE)
    assert (bar.value.rows, bar.css_state) == (1, "unknown")
    assert "unknown value</span>" in page
    assert str(newer_bet) == "from a newer release (player_steals (unknown value)) @ 2.000"


def test_model_validation__unknown_value_held_unchanged__accepted(newer_bet):
    newer_bet.selection = "checked"

    newer_bet.full_clean()
    newer_bet.save()

    assert Bet.objects.get(pk=newer_bet.pk).bet_type == NEWER_VALUE


def test_audit_detail_and_list__action_of_a_newer_release__shown_marked_unknown():
    from django.contrib.admin import site

    from betintel.enums.admin import enum_column

    entry = AuditLog(action="ENUM_TYPE_RESHAPED", message="from a newer release")
    known = AuditLog(action=AuditAction.BET_PLACED, message="placed")
    column = enum_column(AuditLog._meta.get_field("action"))

    assert site._registry[AuditLog].action_shown(entry) == "ENUM_TYPE_RESHAPED (unknown value)"
    assert (column(entry), column(known)) == ("ENUM_TYPE_RESHAPED (unknown value)", "Bet placed")
    assert entry.get_action_display() == "ENUM_TYPE_RESHAPED (unknown value)"
