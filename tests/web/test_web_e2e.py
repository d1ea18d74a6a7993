"""End to end in a real browser: a real uvicorn on a free loopback port, Debian's Chromium
driven by Playwright; sign in, open every report, change a filter, download CSV and XLSX and
check their totals against the CLI report. Screenshots go to test-output/."""

from __future__ import annotations

import csv
import io
import shutil
import urllib.request
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import openpyxl
import pytest
from tests.web.conftest import YEAR, password_for, pristine, uvicorn_server
from tests.web.test_web_numbers import cli_report

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUT = Path(__file__).resolve().parents[2] / "test-output" / "web"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]


@pytest.fixture(scope="module")
def server(base_db, tmp_path_factory):  # noqa: ANN001, ANN201
    folder = tmp_path_factory.mktemp("e2e")
    db = folder / "bookedbiz.db"
    shutil.copyfile(pristine(base_db), db)
    with uvicorn_server(folder, db, "e2e-secret-" + "y" * 32, wait_seconds=30) as (base, _proc):
        yield base, db


def test_root_redirect_over_real_http(server) -> None:
    base, _ = server
    request = urllib.request.Request(base + "/")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(request)
    assert caught.value.code == 302 and caught.value.headers["Location"] == "/reports/"


def test_browser_session(server) -> None:
    from playwright.sync_api import sync_playwright

    base, db = server
    OUT.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                      accept_downloads=True)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/reports/")
        assert "/login" in page.url
        page.screenshot(path=str(OUT / "00-login.png"))
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", password_for("manager"))
        page.click("button[type=submit]")
        page.wait_for_url("**/reports/")

        pages = [
            ("01-overview", f"/reports/?year={YEAR}"),
            ("02-customers", f"/reports/customers/?year={YEAR}"),
            ("03-aes", f"/reports/aes/?year={YEAR}"),
            ("04-by-market", f"/reports/breakdowns/market?year={YEAR}"),
            ("05-by-language", f"/reports/breakdowns/language?year={YEAR}"),
            ("06-by-revenue-type", f"/reports/breakdowns/revenue-type?year={YEAR}"),
            ("07-by-agency", f"/reports/breakdowns/agency?year={YEAR}"),
            ("08-by-spot-type", f"/reports/breakdowns/spot-type?year={YEAR}"),
            ("09-customer-detail", "/reports/customers/1"),
            ("10-months", "/months/"),
            ("11-imports", "/imports/"),
            ("12-import-batch", "/imports/1"),
            ("13-account", "/account"),
        ]
        for name, path in pages:
            response = page.goto(base + path)
            assert response is not None and response.status == 200, path
            assert page.locator("footer.freshness").inner_text().startswith("Data last updated")
            if page.locator("[data-chart]").count():
                page.wait_for_selector("[data-chart][data-rendered='1'] svg", timeout=15000)
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)

        # change a filter: the measure radio submits the form and keeps it in the URL
        page.goto(base + f"/reports/?year={YEAR}")
        page.check("input[name=measure][value=net]")
        page.wait_for_url("**measure=net**")
        assert f"year={YEAR}" in page.url
        page.select_option("select[name=market]", "SEA")
        page.wait_for_url("**market=SEA**")
        assert "measure=net" in page.url
        page.screenshot(path=str(OUT / "14-overview-net-sea.png"))
        filters = {"year": YEAR, "measure": "net", "market": "SEA"}
        expected = cli_report(db, "month", filters)
        expected_net = sum((Decimal(str(r["net"])) for r in expected), Decimal(0))
        # the card shows whole dollars (the exact cents rounded half-even); the footer's
        # toggle shows the exact cents, and switches back
        card = page.locator("[data-card=total]").inner_text()
        whole_net = expected_net.quantize(Decimal(1), ROUND_HALF_EVEN)
        assert Decimal(card.replace("$", "").replace(",", "")) == whole_net
        page.click("a.cents-toggle")
        page.wait_for_url("**cents=1**")
        assert "measure=net" in page.url and "market=SEA" in page.url
        card = page.locator("[data-card=total]").inner_text()
        assert Decimal(card.replace("$", "").replace(",", "")) == expected_net
        page.click("a.cents-toggle")
        page.wait_for_url("**cents=0**")
        card = page.locator("[data-card=total]").inner_text()
        assert Decimal(card.replace("$", "").replace(",", "")) == whole_net

        with page.expect_download() as info:
            page.locator("#table-months a[data-export=csv]").click()
        csv_rows = list(csv.DictReader(io.StringIO(
            Path(info.value.path()).read_text(encoding="utf-8-sig"))))
        assert Decimal(csv_rows[-1]["Net"]) == expected_net
        with page.expect_download() as info:
            page.locator("#table-months a[data-export=xlsx]").click()
        assert info.value.suggested_filename.endswith(".xlsx")
        book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
        sheet = book.active
        header = [c.value for c in sheet[4]]
        last = [c.value for c in sheet[sheet.max_row]]
        assert last[0] == "Year total"
        assert Decimal(str(last[header.index("Net")])).quantize(Decimal("0.01")) == expected_net

        # customers: export totals equal the CLI for the same filters
        page.goto(base + f"/reports/customers/?year={YEAR}&measure=net&market=SEA")
        with page.expect_download() as info:
            page.locator("a[data-export=csv]").first.click()
        rows = list(csv.DictReader(io.StringIO(
            Path(info.value.path()).read_text(encoding="utf-8-sig"))))
        assert Decimal(rows[-1]["Total"]) == expected_net
        page.screenshot(path=str(OUT / "15-customers-net-sea.png"))

        # print layout renders
        page.emulate_media(media="print")
        page.screenshot(path=str(OUT / "16-customers-print.png"))
        browser.close()
    assert not errors, errors


def _http_sign_in(base: str, username: str, password: str):  # noqa: ANN202
    """A fresh httpx client signed in over real HTTP (CSRF token from the login form)."""
    import re

    import httpx

    client = httpx.Client(base_url=base, follow_redirects=False, timeout=20)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.text[:300]
    return client


def _csrf(client) -> str:  # noqa: ANN001
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text).group(1)


def test_copied_cookie_replayed_over_real_http_after_each_event(server) -> None:
    """The stolen-cookie check against the real server: copy the cookie jar, do the event,
    replay the copy; sign-out, an admin's password reset, a role change and disabling."""
    import httpx

    base, _ = server
    password = password_for("manager")

    def replay(cookies) -> int:  # noqa: ANN001
        with httpx.Client(base_url=base, cookies=cookies, follow_redirects=False) as thief:
            return thief.get("/reports/").status_code

    def sign_out(victim, admin) -> None:  # noqa: ANN001
        assert victim.post("/logout", data={"csrf_token": _csrf(victim)}).status_code == 302

    def reset(victim, admin) -> None:  # noqa: ANN001
        nonlocal password
        password = "reset-over-http-123"
        admin.post("/admin/users/manager/password",
                   data={"csrf_token": _csrf(admin), "password": password})

    def role_change(victim, admin) -> None:  # noqa: ANN001
        admin.post("/admin/users/manager/role", data={"csrf_token": _csrf(admin),
                                                      "role": "viewer"})

    def disabling(victim, admin) -> None:  # noqa: ANN001
        admin.post("/admin/users/manager/active", data={"csrf_token": _csrf(admin),
                                                        "active": "0"})

    admin = _http_sign_in(base, "admin", password_for("admin"))
    for event in (sign_out, reset, role_change, disabling):
        victim = _http_sign_in(base, "manager", password)
        stolen = httpx.Cookies(victim.cookies)
        assert replay(stolen) == 200, event.__name__
        event(victim, admin)
        status = replay(stolen)
        assert status == 302, (event.__name__, status)
        victim.close()
    admin.close()
