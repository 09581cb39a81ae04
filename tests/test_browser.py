"""A real browser (Chromium, driven by Playwright) uses the admin on a live server.

The ``chromium_executable`` fixture finds the browser, or installs it on first need (Debian's
package, else Playwright's own download).

Playwright's sync API runs an event loop in this thread, where Django refuses database
access; so the data is made before the browser starts and checked after it has closed.
Set ``BETINTEL_DOCS_SCREENSHOT=1`` to refresh the README's screenshots in ``docs/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from bets.models import Bet, BetType

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-password"
BETS = {"h2h": 940, "spreads": 610, "totals": 480, "player_points": 230, "player_rebounds": 95}


@pytest.fixture
def admin_with_bets(transactional_db, django_user_model):
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    sports = ["soccer", "basketball", "tennis"]
    Bet.objects.bulk_create(
        Bet(sport=sports[number % 3], bet_type=bet_type, selection=f"Selection {number}",
            odds="1.950", stake="10.00")
        for bet_type, count in BETS.items()
        for number in range(count)
    )


def test_browser__admin_shows_bet_type_chart_and_enum_status(
    live_server, admin_with_bets, tmp_path, settings, chromium_executable
):
    settings.FEATURE_FLAGS = []
    seen: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            log_in(page, live_server.url)
            page.goto(f"{live_server.url}/admin/bets/bet/")
            seen.update(read_changelist(page))
            page.screenshot(path=tmp_path / "bets-changelist.png")
            page.goto(f"{live_server.url}/admin/")
            page.get_by_role("link", name="Enum status", exact=True).click()
            page.wait_for_selector("#type-bet_type_enum")
            seen["status_heading"] = page.locator("h1").first.inner_text()
            seen["verdict"] = page.locator(".enum-verdict").inner_text()
            seen["status_rows"] = page.locator("#type-bet_type_enum tbody tr").all_inner_texts()
            page.screenshot(path=tmp_path / "enum-status.png")
        finally:
            browser.close()

    assert seen["bars"] == [member.value for member in BetType]
    assert seen["bar_width"]["h2h"] > seen["bar_width"]["spreads"] > seen["bar_width"]["totals"]
    assert seen["bar_width"]["player_assists"] == 0
    assert seen["counts"]["h2h"].endswith("940")
    assert seen["counts"]["player_assists"].endswith("0")
    assert "flag off" in seen["assists_state"]
    assert seen["status_heading"] == "Enum status"
    assert seen["verdict"].startswith("OK")
    assert any(row.startswith("player_assists") for row in seen["status_rows"])
    shot = tmp_path / "bets-changelist.png"
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    if os.environ.get("BETINTEL_DOCS_SCREENSHOT"):
        (ROOT / "docs").mkdir(exist_ok=True)
        for name in ("bets-changelist.png", "enum-status.png"):
            shutil.copyfile(tmp_path / name, ROOT / "docs" / name)


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#content-main")


def read_changelist(page) -> dict:
    """What the bets change list shows: the chart's bars and the table's counts."""
    page.wait_for_selector("svg.enum-chart")
    bars = page.locator("svg.enum-chart g.enum-bar")
    values = [bars.nth(index).get_attribute("data-value") for index in range(bars.count())]
    widths = {
        value: float(
            page.locator(f'g.enum-bar[data-value="{value}"] rect:not(.bar-track)')
            .get_attribute("width")
        )
        for value in values
    }
    counts = {
        value: page.locator(f'.enum-counts tbody tr[data-value="{value}"] td.numeric')
        .inner_text()
        .replace(",", "")
        for value in values
    }
    assists = page.locator('.enum-counts tbody tr[data-value="player_assists"]').inner_text()
    return {"bars": values, "bar_width": widths, "counts": counts, "assists_state": assists}
