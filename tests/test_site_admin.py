"""The site's admin: bets per bet type (the engine's counts on ``BetAdmin``), the "Enum status"
page on bets' types, and the read-only audit log.

The engine's admin itself (the status page, the counts mixin) is tested in ``test_admin`` on
the engine's tiny test app.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.models import AuditAction, AuditLog
from bets.models import Bet, BetType

STATUS_URL = "/admin/enums/enumstatus/"
BETS_URL = "/admin/bets/bet/"
AUDIT_URL = "/admin/audit/auditlog/"


@pytest.fixture
def staff(django_user_model):
    """A staff user who may view bets, and nothing else."""
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_bet"))
    return user


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw")


@pytest.fixture
def entry():
    return AuditLog.objects.create(
        action=AuditAction.ENUM_VALUE_ADDED,
        message="Value added: bet_type_enum.player_steals (forwards)",
        details={"type": "bet_type_enum", "value": "player_steals", "direction": "forwards",
                 "migration": "bets.0004_add_player_steals"},
    )


def make_bets(**per_type: int) -> None:
    Bet.objects.bulk_create(
        Bet(sport="soccer", bet_type=bet_type, selection=f"{bet_type} {number}", odds="2.000",
            stake="1.00")
        for bet_type, count in per_type.items()
        for number in range(count)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("url", [BETS_URL, AUDIT_URL])
@pytest.mark.parametrize("who", ["anonymous", "non_staff"])
def test_admin_pages__anonymous_or_not_staff__sent_to_login(client, django_user_model, url, who):
    if who == "non_staff":
        client.force_login(django_user_model.objects.create_user("customer", password="pw"))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('admin:login')}?next=")


@pytest.mark.django_db
def test_admin_index__staff_without_permissions__enum_status_but_no_bets(
    client, django_user_model
):
    client.force_login(django_user_model.objects.create_user("bare", is_staff=True))

    page = client.get(reverse("admin:index")).content.decode()

    assert f'href="{STATUS_URL}"' in page
    assert f'href="{BETS_URL}"' not in page


@pytest.mark.django_db
def test_enum_status_page__staff__shows_bets_types(client, staff, settings):
    settings.FEATURE_FLAGS = ["enable_player_assists"]
    make_bets(h2h=2)
    client.force_login(staff)

    response = client.get(STATUS_URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["report"].ok
    assert 'id="type-bet_type_enum"' in page
    assert "bets.models.BetType" in page and "bets_bet.bet_type" in page
    assert "<code>enable_player_assists</code>" in page
    bet_type = next(entry for entry in response.context["report"].enums
                    if entry.type == "bet_type_enum")
    assert [value.rows for value in bet_type.values][:2] == [2, 0]


@pytest.mark.django_db
def test_bets_changelist__staff__counts_per_bet_type_as_table_and_chart(client, staff, settings):
    settings.FEATURE_FLAGS = []
    make_bets(h2h=5, spreads=3, player_points=1)
    client.force_login(staff)

    response = client.get(BETS_URL)

    page = response.content.decode()
    assert response.status_code == 200
    chart = response.context["enum_charts"][0]
    shown = {bar.value.value: bar.value.rows for bar in chart.bars}
    assert shown == {"h2h": 5, "spreads": 3, "totals": 0, "player_points": 1,
                     "player_assists": 0, "player_rebounds": 0}
    assert chart.total == 9 and not chart.estimated
    assert '<svg class="enum-chart"' in page
    assert page.count('<g class="enum-bar"') == len(BetType)
    assert 'class="bar-flag-off"' in page
    assert "flag off" in page
    assert "Counts are exact." in page


@pytest.mark.django_db
def test_bets_changelist__flag_on__flagged_value_marked_on(client, staff, settings):
    settings.FEATURE_FLAGS = ["enable_player_assists"]
    client.force_login(staff)

    page = client.get(BETS_URL).content.decode()

    assert 'class="bar-flag-on"' in page
    assert "flag on" in page


@pytest.mark.django_db
def test_audit_admin__staff__list_with_filter_search_and_date_drill_down(client, staff, entry):
    AuditLog.objects.create(action=AuditAction.BET_PLACED, message="Bet placed on h2h")
    client.force_login(staff)

    listed = client.get(AUDIT_URL)
    filtered = client.get(AUDIT_URL, {"action__exact": "BET_PLACED"})
    searched = client.get(AUDIT_URL, {"q": "player_steals"})
    year = entry.created_at.year
    drilled = client.get(AUDIT_URL, {"created_at__year": year})

    assert listed.status_code == 200
    assert [spec.title for spec in listed.context["cl"].filter_specs] == ["action"]
    assert [e.action for e in filtered.context["cl"].result_list] == ["BET_PLACED"]
    assert list(searched.context["cl"].result_list) == [entry]
    assert entry in drilled.context["cl"].result_list
    assert f"created_at__year={year}" in listed.content.decode()
    assert "delete_selected" not in listed.content.decode()


@pytest.mark.django_db
def test_audit_admin__detail__indented_json(client, staff, entry):
    client.force_login(staff)

    response = client.get(reverse("admin:audit_auditlog_change", args=[entry.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert '<pre class="audit-details">{\n  &quot;direction&quot;: &quot;forwards&quot;,' in page
    assert "&quot;value&quot;: &quot;player_steals&quot;\n}</pre>" in page
    assert 'name="_save"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_audit_admin__add_change_delete__refused_to_everyone(client, entry, who, request):
    client.force_login(request.getfixturevalue(who))
    change_url = reverse("admin:audit_auditlog_change", args=[entry.pk])

    added = client.post(reverse("admin:audit_auditlog_add"),
                        {"action": "BET_PLACED", "message": "forged"})
    changed = client.post(change_url, {"action": "BET_PLACED", "message": "rewritten"})
    deleted = client.post(reverse("admin:audit_auditlog_delete", args=[entry.pk]), {"post": "yes"})
    bulk = client.post(AUDIT_URL, {"action": "delete_selected", "_selected_action": [entry.pk],
                                   "post": "yes"})

    assert (added.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.message.startswith("Value added")
    assert AuditLog.objects.filter(pk=entry.pk).exists()
    assert not AuditLog.objects.filter(message="forged").exists()


@pytest.mark.django_db
def test_audit_log__update_or_delete_with_sql__refused(entry):
    for statement in ("UPDATE audit_auditlog SET message = 'x' WHERE id = %s",
                      "DELETE FROM audit_auditlog WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])

    entry.refresh_from_db()
    assert entry.message.startswith("Value added")
