"""A brand-new ``django-admin startproject`` site installs the engine from its wheel, adds only
``"betintel.enums"`` (and an app of its own) and gets enum migrations, ``enum_status`` and the
admin's "Enum status" page, with its ``urls.py`` untouched (SPEC §11).

The site runs in a virtual environment of its own holding the engine's wheel; the engine's
dependencies (Django, psycopg, pglast, tqdm) come from this Python's site-packages, and this
repository is not on its path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from django.db import connection

from tests.fresh_database import query

PASSWORD = "new-site-admin-password"

MODELS = '''
from django.db import models

from betintel.enums import EnumField


class Size(models.TextChoices):
    SMALL = "small", "Small"
    LARGE = "large", "Large"


class Shirt(models.Model):
    size = EnumField(Size, type_name="shirt_size")
'''

# Run in the site by ``manage.py shell``: log into its admin with Django's test client and
# follow the index's "Enum status" link.
ADMIN_VISIT = f'''
import json, re
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
logged_in = client.login(username="admin", password="{PASSWORD}")
index = client.get("/admin/")
links = re.findall(r'<a href="([^"]+)">Enum status</a>', index.content.decode())
page = client.get(links[0]) if links else None
print(json.dumps({{
    "logged_in": logged_in,
    "index_status": index.status_code,
    "links": links,
    "page_status": page and page.status_code,
    "page": page and page.content.decode(),
}}))
'''


@pytest.fixture
def site_python(tmp_path, engine_wheel) -> Path:
    """The Python of a new virtual environment holding the engine's wheel."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )
    dependencies = sysconfig.get_paths()["purelib"]
    (site_packages / "engine_dependencies.pth").write_text(
        f"import site; site.addsitedir({dependencies!r})\n"
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--disable-pip-version-check", "--no-deps", "--no-index", str(engine_wheel)],
        check=True, capture_output=True, text=True,
    )
    return python


def site_env() -> dict[str, str]:
    """This process's environment without what points at betintel's own settings and code."""
    dropped = {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL"}
    return {key: value for key, value in os.environ.items() if key not in dropped}


def database_settings(name: str) -> str:
    """``DATABASES`` for the site: the test server, with a plain PostgreSQL backend."""
    params = connection.get_connection_params()
    return repr({
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "HOST": params.get("host", ""),
            "PORT": str(params.get("port", "")),
            "USER": params.get("user", ""),
            "PASSWORD": params.get("password", ""),
        }
    })


@pytest.mark.django_db
def test_new_site__engine_app_alone__migrations_status_and_admin_page_work(
    tmp_path, site_python, empty_database
):
    project = tmp_path / "mysite"
    project.mkdir()

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(site_python), *args], cwd=project, text=True, capture_output=True,
            timeout=300, env={**site_env(), **env},
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    run("-m", "django", "startproject", "mysite", str(project))
    urls = project / "mysite" / "urls.py"
    urls_as_written = urls.read_bytes()
    run("manage.py", "startapp", "shop")
    (project / "shop" / "models.py").write_text(MODELS)
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + '\nINSTALLED_APPS += ["betintel.enums", "shop"]\n'
        + f"DATABASES = {database_settings(empty_database)}\n"
    )

    engine = run("-c", "import betintel.enums; print(betintel.enums.__file__)").stdout
    created = run("manage.py", "makemigrations")
    run("manage.py", "migrate")
    medium = '    MEDIUM = "medium", "Medium"\n    LARGE = "large"'
    (project / "shop" / "models.py").write_text(MODELS.replace('    LARGE = "large"', medium))
    added = run("manage.py", "makemigrations")
    run("manage.py", "migrate")
    status = run("manage.py", "enum_status", "--check")
    run("manage.py", "createsuperuser", "--noinput", "--username", "admin",
        "--email", "admin@example.com", DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    visit = json.loads(run("manage.py", "shell", "--no-imports", "-c", ADMIN_VISIT).stdout)

    assert engine.startswith(str(tmp_path / "venv"))
    (initial,) = (project / "shop" / "migrations").glob("0001_*.py")
    (second,) = (project / "shop" / "migrations").glob("0002_*.py")
    assert "CreateEnumType" in initial.read_text()
    assert "Create enum type shirt_size" in created.stdout
    assert "AddEnumValue" in second.read_text() and "medium" in added.stdout
    assert query(
        empty_database,
        "SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum "
        "WHERE enumtypid = 'shirt_size'::regtype",
    ) == [(["small", "medium", "large"],)]
    assert "shirt_size" in status.stdout
    assert visit["logged_in"] and visit["index_status"] == 200
    assert visit["links"] == ["/admin/enums/enumstatus/"]
    assert visit["page_status"] == 200
    assert 'id="type-shirt_size"' in visit["page"] and "OK: the code and database" in visit["page"]
    assert urls.read_bytes() == urls_as_written
