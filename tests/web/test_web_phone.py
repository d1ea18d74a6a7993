"""A phone in a real browser: Debian's Chromium at 375×812 against a real uvicorn. The
navigation is folded into a menu, every page of the menu opens from it without making the page
wider than the screen (tables scroll inside their own box), the sign-out stays in view, and
signing out works. Screenshots go to test-output/web/phone-*.png."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.web.conftest import password_for
from tests.web.test_web_e2e import ARGS, CHROMIUM, OUT, server  # noqa: F401 - the fixture

PHONE = {"width": 375, "height": 812}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
]


def _sign_in(page, base: str, role: str) -> None:  # noqa: ANN001
    page.goto(base + "/login")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", password_for(role))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url


def _in_view(page, selector: str) -> bool:  # noqa: ANN001
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def _plotly_style(msg) -> bool:  # noqa: ANN001
    """Plotly tries to add its own <style> when it loads; the CSP blocks it (the browser logs
    that) and app.css carries those rules instead. Any other console error fails the test."""
    return "inline style" in msg.text and "/vendor/plotly-" in str(msg.location.get("url"))


def _page_width(page) -> int:  # noqa: ANN001
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("role", ["admin", "ae"])
def test_phone_menu_reaches_every_page_and_signs_out(server, role: str) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, _db = server
    OUT.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                      has_touch=True)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text} {msg.location}")
                if msg.type == "error" and not _plotly_style(msg) else None)
        _sign_in(page, base, role)
        links = page.locator("#mainnav a")
        names = [links.nth(i).inner_text().strip() for i in range(links.count())]
        assert len(names) >= 6, names
        for index, name in enumerate(names):
            # folded: the menu is closed, its toggle and the sign-out are in view
            assert not page.locator("#mainnav").is_visible(), name
            assert _in_view(page, ".navtoggle") and _in_view(page, "button:has-text('Sign out')")
            page.click(".navtoggle")
            assert page.locator("#mainnav").is_visible()
            assert page.get_attribute(".navtoggle", "aria-expanded") == "true"
            target = page.locator("#mainnav a", has_text=re.compile(f"^{re.escape(name)}$"))
            assert target.first.is_visible()
            with page.expect_navigation() as navigation:
                target.first.click()
            response = navigation.value
            assert response is not None and response.status == 200, (name, page.url)
            page.wait_for_load_state("load")
            if page.locator("[data-chart]").count():
                page.wait_for_selector("[data-chart][data-rendered='1'] svg", timeout=15000)
            # nothing widens the page: wide tables scroll inside their own box
            assert _page_width(page) <= PHONE["width"], (name, _page_width(page))
            assert page.locator("footer.freshness").is_visible()
            slug = re.sub(r"[^a-z]+", "-", name.lower()).strip("-")
            page.screenshot(path=str(OUT / f"phone-{role}-{index:02d}-{slug}.png"))
        assert "My account" in names
        # the filter bar is folded behind its summary; opened, a change applies at once
        page.goto(base + "/reports/customers/")
        assert not page.locator("select[name=year]").is_visible()
        page.click("details.filterfold > summary")
        assert page.locator("select[name=year]").is_visible()
        page.check("input[name=measure][value=net]")
        page.wait_for_url("**measure=net**")
        assert "Net" in page.locator("details.filterfold > summary").inner_text()
        # the cents toggle in the footer
        page.click("footer .cents-toggle")
        page.wait_for_url("**cents=1**")
        assert page.locator("body[data-cents='1']").count() == 1
        page.click("footer .cents-toggle")
        page.wait_for_url("**cents=0**")
        # the menu also closes again with its toggle and with Escape
        page.click(".navtoggle")
        page.click(".navtoggle")
        assert not page.locator("#mainnav").is_visible()
        page.click(".navtoggle")
        page.keyboard.press("Escape")
        assert not page.locator("#mainnav").is_visible()
        assert page.get_attribute(".navtoggle", "aria-expanded") == "false"
        # sign out from the bar, on whatever page
        assert _in_view(page, "button:has-text('Sign out')")
        with page.expect_navigation():
            page.click("button:has-text('Sign out')")
        assert "/login" in page.url
        page.goto(base + "/reports/")
        assert "/login" in page.url
        page.screenshot(path=str(OUT / f"phone-{role}-signed-out.png"))
        browser.close()
    assert not errors, errors


def test_wide_screen_shows_the_navigation_without_a_menu(server) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, _db = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        _sign_in(page, base, "viewer")
        assert page.locator("#mainnav").is_visible()
        assert not page.locator(".navtoggle").is_visible()
        browser.close()
