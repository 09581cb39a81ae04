"""The admin: enum status page, bets per bet type, and the read-only audit log."""

from __future__ import annotations

import pytest
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse

from audit.models import AuditAction, AuditLog
from betintel.enums.admin import EnumStatus, EnumStatusAdmin
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
def non_staff(django_user_model):
    return django_user_model.objects.create_user("customer", password="pw")


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
@pytest.mark.parametrize("url", [STATUS_URL, BETS_URL, AUDIT_URL])
def test_admin_pages__anonymous__sent_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('admin:login')}?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("url", [STATUS_URL, BETS_URL, AUDIT_URL])
def test_admin_pages__logged_in_but_not_staff__sent_to_login(client, non_staff, url):
    client.force_login(non_staff)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_admin_index__staff__links_to_enum_status(client, staff):
    client.force_login(staff)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert f'href="{STATUS_URL}"' in response.content.decode()


def test_enum_status_url__named_in_the_admin_namespace():
    assert reverse("admin:enums_enumstatus_changelist") == STATUS_URL


@pytest.mark.django_db
def test_admin_index__staff_without_permissions__still_links_to_enum_status(
    client, django_user_model
):
    client.force_login(django_user_model.objects.create_user("bare", is_staff=True))

    page = client.get(reverse("admin:index")).content.decode()

    assert f'href="{STATUS_URL}"' in page
    assert 'href="/admin/bets/bet/"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["add/", "1/change/", "1/delete/", "1/history/"])
def test_enum_status__object_pages__none_exist(client, superuser, action):
    client.force_login(superuser)

    response = client.get(f"{STATUS_URL}{action}")

    assert response.status_code == 404


@pytest.mark.django_db
def test_enum_status__no_content_type_or_permission_made_for_the_page():
    assert not ContentType.objects.filter(app_label="enums").exists()
    assert not Permission.objects.filter(content_type__app_label="enums").exists()


#: A project's own admin site, beside the default one (see ``backoffice_urls``).
backoffice = AdminSite(name="backoffice")
backoffice.register(EnumStatus, EnumStatusAdmin)
urlpatterns = [path("backoffice/", backoffice.urls)]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_enum_status__registered_on_a_projects_own_site__served_there(client, staff):
    client.force_login(staff)

    index = client.get("/backoffice/").content.decode()
    response = client.get("/backoffice/enums/enumstatus/")

    page = response.content.decode()
    assert 'href="/backoffice/enums/enumstatus/"' in index
    assert reverse("backoffice:enums_enumstatus_changelist") == "/backoffice/enums/enumstatus/"
    assert response.status_code == 200
    assert 'href="/backoffice/">Home</a>' in page
    assert 'href="/backoffice/enums/">Enum types</a>' in page
    assert 'id="type-bet_type_enum"' in page


@pytest.mark.django_db
def test_enum_status_page__staff__shows_the_report(client, staff, settings):
    settings.FEATURE_FLAGS = ["enable_player_assists"]
    make_bets(h2h=2)
    client.force_login(staff)

    response = client.get(STATUS_URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["report"].ok
    assert "OK: the code and database" in page
    assert 'id="type-bet_type_enum"' in page
    assert "bets.models.BetType" in page and "bets_bet.bet_type" in page
    assert "<code>enable_player_assists</code>" in page
    assert [value.rows for value in _type(response, "bet_type_enum").values][:2] == [2, 0]


@pytest.mark.django_db
def test_enum_status_page__drift__shown_with_its_message(client, staff):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TYPE bet_type_enum ADD VALUE 'behind_the_back'")
    client.force_login(staff)

    page = client.get(STATUS_URL).content.decode()

    assert "Drift:" in page
    assert "&#x27;behind_the_back&#x27; of type bet_type_enum is in the database" in page


@pytest.mark.django_db
def test_enum_status_page__estimate_mode__marks_estimates(client, staff):
    client.force_login(staff)

    response = client.get(STATUS_URL, {"counts": "estimate"})

    assert response.context["counts"] == "estimate"
    assert all(value.rows_estimated for value in _type(response, "bet_type_enum").values)


def _type(response, name):
    return next(entry for entry in response.context["report"].enums if entry.type == name)


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


@pytest.mark.django_db(transaction=True)
def test_bets_changelist__big_table__estimates_labelled_and_no_full_count(
    client, staff, settings
):
    make_bets(h2h=60, totals=30, spreads=10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bets_bet")
    settings.ENUM_EXACT_COUNT_LIMIT = 50
    client.force_login(staff)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(BETS_URL)

    page = response.content.decode()
    chart = response.context["enum_charts"][0]
    assert chart.estimated
    shown = {bar.value.value: bar.value.rows for bar in chart.bars}
    assert shown["h2h"] == pytest.approx(60, abs=2)
    assert "≈ " in page and "planner estimates" in page
    assert response.context["cl"].paginator.estimated
    assert "The number of results is the planner's estimate" in page
    counted = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"]]
    assert counted == []


@pytest.mark.django_db
def test_value_chart__deprecated_and_flagged_values__marked(settings):
    from django.template.loader import render_to_string
    from django.test import modify_settings

    from betintel.enums.admin import value_chart

    settings.FEATURE_FLAGS = []
    with modify_settings(INSTALLED_APPS={"append": "tests.statusapp"}):
        from tests.statusapp.models import Subscription

        chart = value_chart(Subscription, "plan")
        html = render_to_string("admin/enums/value_chart.html", {"chart": chart})

    states = {bar.value.value: bar.css_state for bar in chart.bars}
    assert states == {"basic": "active", "legacy": "deprecated", "beta": "flag-off"}
    assert 'class="bar-deprecated"' in html and "· deprecated" in html
    assert "→ <code>basic</code>" in html
    assert "<code>enable_beta_plan</code>" in html and "flag off" in html
    assert "not in database" in html


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
