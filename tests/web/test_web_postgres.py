"""The web app on PostgreSQL (issue 14): the same pages, exports and API answers as on SQLite
for the same data, a real uvicorn serving them from DATABASE_URL, and stations in the URL.

The web suite's demo database (imports, closed months, budgets, one user per role) is copied
row for row into a fresh PostgreSQL database and into a private SQLite copy; every export and
API answer must be byte for byte the same from both.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tests.core.copy_data import copy_database, split_station
from tests.web.conftest import YEAR, login, password_for, pristine, uvicorn_server

from bookedbiz import users
from bookedbiz.web import create_app

SECRET = "pg-secret-" + "z" * 32


def _server_database(pg_server, source: Path, label: str) -> Iterator[str]:  # noqa: ANN001
    from bookedbiz.db.migrate import init_server_database

    name = f"bookedbiz_web_{label}_{os.getpid()}"
    pg_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg_server.admin(f"CREATE DATABASE {name} OWNER bookedbiz")
    try:
        url = pg_server.url(name)
        init_server_database(url)
        copy_database(source, url)
        yield url
    finally:
        pg_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def twin(base_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private SQLite copy (tokens are written into it)."""
    path = tmp_path_factory.mktemp("twin") / "bookedbiz.db"
    shutil.copyfile(pristine(base_db), path)
    return path


@pytest.fixture(scope="module")
def server_url(base_db: Path, pg_server) -> Iterator[str]:  # noqa: ANN001
    yield from _server_database(pg_server, base_db, "same")


def _app(target: Path | str, folder: Path) -> Flask:
    where = {"DATABASE_URL": target} if isinstance(target, str) else {"DATABASE_PATH": str(target)}
    return create_app({**where, "SECRET_KEY": SECRET, "DATA_PATH": str(folder)})


@pytest.fixture(scope="module")
def both(twin: Path, server_url: str, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, tuple[FlaskClient, str]]:
    """A signed-in admin's client and an API token on each database: name → (client, token)."""
    out = {}
    for name, target in (("sqlite", twin), ("postgresql", server_url)):
        client = _app(target, tmp_path_factory.mktemp(name)).test_client()
        assert login(client, "admin").status_code == 302
        _, token = users.create_token(target, "admin", "both")
        out[name] = (client, token)
    return out


PAGES = [
    f"/reports/?year={YEAR}",
    f"/reports/?year={YEAR}&measure=net&basis=billing",
    f"/reports/customers/?year={YEAR}",
    f"/reports/aes/?year={YEAR}&basis=calendar",
    *[f"/reports/breakdowns/{d}?year={YEAR}" for d in
      ("market", "language", "revenue-type", "agency", "spot-type", "sector", "class")],
    "/reports/pacing?as_of=2026-06-15",
    "/reports/pacing?as_of=2026-06-15&by=customer",
    "/reports/changes",
    f"/reports/customers/3?year={YEAR}",
    f"/planning/?year={YEAR}",
    f"/planning/management?year={YEAR}",
    f"/planning/budgets?year={YEAR}",
    "/imports/1",
    "/scoreboard",
    f"/months/?year={YEAR}",
    "/imports/",
    "/admin/stewardship",
    "/admin/agencies",
    "/admin/sectors",
    "/admin/stale",
    f"/admin/language-review?year={YEAR}",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_and_its_export_are_the_same_on_postgresql(both, page: str) -> None:  # noqa: ANN001
    answers = {}
    for name, (client, _token) in both.items():
        html = client.get(page)
        assert html.status_code == 200, (name, html.get_data(as_text=True)[:400])
        exported = client.get(page + ("&" if "?" in page else "?") + "format=csv")
        answers[name] = (exported.status_code, _comparable(exported.get_data(as_text=True)))
    assert answers["postgresql"] == answers["sqlite"]


def _comparable(body: str) -> str:
    """A page without what differs per session (CSRF tokens; admin pages have no export)."""
    return re.sub(r'(csrf_token" value|csrf-token" content)="[^"]+"', "", body)


API = [
    *[f"/api/v1/revenue?year={YEAR}&by={by}" for by in
      ("month", "ae", "customer", "agency", "market", "language", "revenue-type", "spot-type",
       "station")],
    f"/api/v1/overview?year={YEAR}",
    f"/api/v1/customers?year={YEAR}",
    "/api/v1/customers/3",
    f"/api/v1/aes?year={YEAR}",
    "/api/v1/pacing?as_of=2026-06-15&by=ae",
    "/api/v1/changes",
    "/api/v1/months",
    "/api/v1/imports",
    f"/api/v1/filters?year={YEAR}",
    "/api/v1/feed/revenue?format=csv",
    f"/api/v1/feed/planning?year={YEAR}&format=json",
    f"/api/v1/revenue?year={YEAR}&by=month&station=MAIN",
]


@pytest.mark.parametrize("path", API)
def test_every_api_answer_is_the_same_on_postgresql(both, path: str) -> None:  # noqa: ANN001
    answers = {}
    for name, (client, token) in both.items():
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (name, response.get_data(as_text=True)[:400])
        answers[name] = response.get_data(as_text=True)
    assert answers["postgresql"] == answers["sqlite"]


def test_the_users_page_on_postgresql(both) -> None:  # noqa: ANN001
    """Its sign-in times differ between the two copies by design; it has to answer."""
    page = both["postgresql"][0].get("/admin/users")
    assert page.status_code == 200 and "manager" in page.get_data(as_text=True)


def test_an_ae_users_own_book_is_the_same_on_postgresql(twin: Path, server_url: str,
                                                        tmp_path: Path) -> None:
    pages = {}
    for name, target in (("sqlite", twin), ("postgresql", server_url)):
        client = _app(target, tmp_path / name).test_client()
        assert login(client, "ae").status_code == 302
        response = client.get("/my-book")
        assert response.status_code == 200, name
        text = response.get_data(as_text=True)
        pages[name] = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
        pages[name + " csv"] = client.get("/my-book?format=csv").get_data(as_text=True)
    assert pages["postgresql csv"] == pages["sqlite csv"]
    cards = [re.findall(r'data-card="[^"]+">([^<]*)<', pages[n]) for n in ("sqlite", "postgresql")]
    assert cards[0] == cards[1]


def test_an_unknown_station_is_a_400_in_one_sentence(both) -> None:  # noqa: ANN001
    for client, token in both.values():
        page = client.get(f"/reports/?year={YEAR}&station=NOPE")
        assert page.status_code == 400
        assert "no station &#39;NOPE&#39;" in page.get_data(as_text=True)
        api = client.get("/api/v1/revenue?station=NOPE",
                         headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 400
        assert json.loads(api.get_data(as_text=True))["error"].startswith("There is no station")


def test_one_station_pages_show_no_station_choice(both) -> None:  # noqa: ANN001
    for client, _token in both.values():
        html = client.get(f"/reports/?year={YEAR}").get_data(as_text=True)
        assert 'name="station"' not in html
        breakdown = client.get(f"/reports/breakdowns/market?year={YEAR}").get_data(as_text=True)
        assert "/reports/breakdowns/station" not in breakdown


# -- two stations ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_stations(base_db: Path, pg_server, tmp_path_factory) -> Iterator[FlaskClient]:  # noqa: ANN001
    for url in _server_database(pg_server, base_db, "two"):
        split_station(url)
        client = _app(url, tmp_path_factory.mktemp("two")).test_client()
        assert login(client, "manager").status_code == 302
        yield client


def _total(client: FlaskClient, query: str) -> dict:
    response = client.get(f"/reports/?year={YEAR}{query}&format=csv&table=months")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    header, total = lines[0].split(","), lines[-1].split(",")
    return dict(zip(header, total, strict=False))


def test_station_filter_select_and_grouping_on_postgresql(two_stations: FlaskClient) -> None:
    client = two_stations
    html = client.get(f"/reports/?year={YEAR}").get_data(as_text=True)
    assert 'name="station"' in html and '<option value="KTWO"' in html
    main, two = _total(client, "&station=MAIN"), _total(client, "&station=ktwo")
    whole, both = _total(client, ""), _total(client, "&station=MAIN,KTWO")
    assert int(main["Spots"]) and int(two["Spots"])
    assert int(main["Spots"]) + int(two["Spots"]) == int(whole["Spots"]) == int(both["Spots"])
    assert both["Gross"] == whole["Gross"]
    repeated = _total(client, "&station=MAIN&station=KTWO")
    assert repeated == both
    grouped = client.get(f"/reports/breakdowns/station?year={YEAR}&format=csv")
    assert grouped.status_code == 200
    rows = {line.split(",")[0]: line.split(",")[3]
            for line in grouped.get_data(as_text=True).lstrip("\ufeff").splitlines()[1:]}
    assert int(rows["MAIN"]) == int(main["Spots"]) and int(rows["KTWO"]) == int(two["Spots"])
    # the filter survives in links and exports, and the pacing page takes it too
    assert "station=KTWO" in client.get(f"/reports/?year={YEAR}&station=KTWO").get_data(
        as_text=True)
    assert client.get("/reports/pacing?as_of=2026-06-15&station=KTWO&by=station"
                      ).status_code == 200
    # months: MAIN closed its months (the demo's closes), KTWO closed none, so for every
    # station together they are open
    status = {}
    for query in ("&station=MAIN", "&station=KTWO", ""):
        text = client.get(f"/months/?year={YEAR}{query}&format=csv").get_data(as_text=True)
        status[query] = [line.split(",")[2] for line in text.lstrip("\ufeff").splitlines()[1:]]
    assert "Closed" in status["&station=MAIN"]
    assert set(status["&station=KTWO"]) == set(status[""]) == {"Open"}
    api = {}
    for query in ("?station=MAIN", "?station=KTWO", ""):
        _, token = users.create_token(client.application.extensions[
            "bookedbiz.database"].target, "admin", f"months{query}")
        answer = client.get(f"/api/v1/months{query}", headers={"Authorization": f"Bearer {token}"})
        api[query] = {m["status"] for m in json.loads(answer.get_data(as_text=True))["data"]}
    assert "closed" in api["?station=MAIN"] and api["?station=KTWO"] == api[""] == {"open"}


# -- a real uvicorn on DATABASE_URL ----------------------------------------------------------

def test_real_uvicorn_serves_the_pages_and_api_from_postgresql(
        server_url: str, both, tmp_path: Path) -> None:  # noqa: ANN001
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with uvicorn_server(tmp_path, server_url, SECRET, wait_seconds=40) as (base, _proc):
        form = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        body = urllib.parse.urlencode({"username": "manager", "csrf_token": token,
                                       "password": password_for("manager")}).encode()
        opener.open(base + "/login", data=body)
        for page in PAGES[:6] + ["/reports/pacing?as_of=2026-06-15", "/scoreboard"]:
            with opener.open(base + page) as response:
                assert response.status == 200, page
                assert "Sign in" not in response.read().decode()[:3000] or page == "/login"
        with opener.open(base + f"/reports/?year={YEAR}&format=csv&table=months") as response:
            served = response.read().decode()
        sqlite_client = both["sqlite"][0]
        expected = sqlite_client.get(f"/reports/?year={YEAR}&format=csv&table=months")
        assert served == expected.get_data(as_text=True)
        api = urllib.request.Request(base + f"/api/v1/revenue?year={YEAR}&by=customer",
                                     headers={"Authorization": f"Bearer {both['postgresql'][1]}"})
        with urllib.request.urlopen(api) as response:
            assert json.loads(response.read())["data"]
        with urllib.request.urlopen(base + "/health") as response:
            assert json.loads(response.read())["status"] == "healthy"


def test_a_server_that_is_down_is_a_503_naming_no_password(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from tests.databases import PASSWORD, free_port

    down = f"postgresql+psycopg://bookedbiz:{PASSWORD}@127.0.0.1:{free_port()}/nowhere"
    client = _app(down, tmp_path).test_client()
    health = client.get("/health")
    assert health.status_code == 503 and health.get_json() == {"status": "unhealthy"}
    api = client.get("/api/v1/revenue", headers={"Authorization": "Bearer bbz_nothing"})
    assert api.status_code == 503
    assert api.get_json()["error"] == "The database is not available right now."
    assert client.get("/login").status_code == 200  # the sign-in page needs no database
    logged = caplog.text
    assert "127.0.0.1" in logged and "nowhere" in logged
    assert PASSWORD not in logged + api.get_data(as_text=True) + health.get_data(as_text=True)
