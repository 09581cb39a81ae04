"""The engine's admin: the "Enum status" page, and rows per enum value above a change list.

Shown on ``tests.enumapp``: its ``PaintAdmin`` counts paints per ``Finish`` (one active,
flagged and deprecated member each). The site's admin pages (bets, the audit log) are tested
in ``test_site_admin``.
"""

from __future__ import annotations

import pytest
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse

from betintel.enums.admin import EnumStatus, EnumStatusAdmin
from tests.enumapp.models import Finish, Paint

STATUS_URL = "/admin/enums/enumstatus/"
PAINTS_URL = "/admin/enumapp/paint/"


@pytest.fixture
def staff(django_user_model):
    """A staff user who may view paints, and nothing else."""
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_paint"))
    return user


@pytest.fixture
def non_staff(django_user_model):
    return django_user_model.objects.create_user("customer", password="pw")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw")


def make_paints(**per_finish: int) -> None:
    Paint.objects.bulk_create(
        Paint(name=f"{finish} {number}", finish=finish)
        for finish, count in per_finish.items()
        for number in range(count)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("url", [STATUS_URL, PAINTS_URL])
def test_admin_pages__anonymous__sent_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('admin:login')}?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("url", [STATUS_URL, PAINTS_URL])
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
    assert f'href="{PAINTS_URL}"' not in page


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
    assert 'id="type-colour_enum"' in page


@pytest.mark.django_db
def test_enum_status_page__staff__shows_the_report(client, staff, settings):
    settings.FEATURE_FLAGS = ["enable_satin"]
    make_paints(matte=2)
    client.force_login(staff)

    response = client.get(STATUS_URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["report"].ok
    assert "OK: the code and database" in page
    assert 'id="type-finish_enum"' in page
    assert "tests.enumapp.models.Finish" in page and "enumapp_paint.finish" in page
    assert "<code>enable_satin</code>" in page
    assert [value.rows for value in _type(response, "finish_enum").values][:2] == [2, 0]


@pytest.mark.django_db
def test_enum_status_page__drift__shown_with_its_message(client, staff):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TYPE finish_enum ADD VALUE 'behind_the_back'")
    client.force_login(staff)

    page = client.get(STATUS_URL).content.decode()

    assert "Drift:" in page
    assert "&#x27;behind_the_back&#x27; of type finish_enum is in the database" in page


@pytest.mark.django_db
def test_enum_status_page__estimate_mode__marks_estimates(client, staff):
    client.force_login(staff)

    response = client.get(STATUS_URL, {"counts": "estimate"})

    assert response.context["counts"] == "estimate"
    assert all(value.rows_estimated for value in _type(response, "finish_enum").values)


def _type(response, name):
    return next(entry for entry in response.context["report"].enums if entry.type == name)


@pytest.mark.django_db
def test_changelist__staff__counts_per_value_as_table_and_chart(client, staff, settings):
    settings.FEATURE_FLAGS = []
    make_paints(matte=5, gloss=3, metallic=1)
    client.force_login(staff)

    response = client.get(PAINTS_URL)

    page = response.content.decode()
    assert response.status_code == 200
    chart = response.context["enum_charts"][0]
    shown = {bar.value.value: bar.value.rows for bar in chart.bars}
    assert shown == {"matte": 5, "gloss": 3, "satin": 0, "metallic": 1}
    assert chart.total == 9 and not chart.estimated
    assert '<svg class="enum-chart"' in page
    assert page.count('<g class="enum-bar"') == len(Finish)
    assert 'class="bar-flag-off"' in page
    assert 'class="bar-deprecated"' in page
    assert "flag off" in page
    assert "Counts are exact." in page


@pytest.mark.django_db
def test_changelist__flag_on__flagged_value_marked_on(client, staff, settings):
    settings.FEATURE_FLAGS = ["enable_satin"]
    client.force_login(staff)

    page = client.get(PAINTS_URL).content.decode()

    assert 'class="bar-flag-on"' in page
    assert "flag on" in page


@pytest.mark.django_db(transaction=True)
def test_changelist__big_table__estimates_labelled_and_no_full_count(client, staff, settings):
    make_paints(matte=60, metallic=30, gloss=10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE enumapp_paint")
    settings.ENUM_EXACT_COUNT_LIMIT = 50
    client.force_login(staff)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(PAINTS_URL)

    page = response.content.decode()
    chart = response.context["enum_charts"][0]
    assert chart.estimated
    shown = {bar.value.value: bar.value.rows for bar in chart.bars}
    assert shown["matte"] == pytest.approx(60, abs=2)
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
