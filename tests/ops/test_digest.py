"""Digests (issue 13.4) against a local SMTP server (aiosmtpd on 127.0.0.1) that records every
message: the weekly digest of an AE carries their book alone, equal to ``report pacing`` for
them; the daily one the changes between the last two imports; each has a valid XLSX attachment;
no secret reaches a message; a second run sends nothing; any Apprise URL works as a target and
is never printed in full; bad input is refused in one sentence."""

from __future__ import annotations

import email
import io
import json
import re
import socket
import sqlite3
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from email.message import Message
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from tests.core import dbstate

from bookedbiz import users
from bookedbiz.cli.main import cli
from bookedbiz.db.access import reading_from
from bookedbiz.reports.changes import changes_report
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pacing import pacing_report
from bookedbiz.synth.demo import build_demo_database

AS_OF = date(2026, 6, 15)
MAIL_PASSWORD = "mail-Pa55word-never-in-a-message"
SECRET_KEY = "digest-test-secret-key-" + "k" * 24
NTFY_TOPIC = "private-topic-never-in-a-message"


@pytest.fixture(scope="module")
def digest_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("digestdb") / "bookedbiz.db"
    build_demo_database(path, years=2, seed=11, rows_per_month=120, today=AS_OF)
    conn = sqlite3.connect(path)
    names = [n for (n,) in conn.execute(
        "SELECT a.name FROM spot_summary s JOIN aes a ON a.ae_id = s.ae_id "
        "WHERE s.broadcast_month LIKE '2026-%' AND a.name <> 'WorldLink' GROUP BY a.ae_id "
        "ORDER BY SUM(s.gross_micros) DESC LIMIT 2")]
    conn.close()
    users.create_user(path, "ann", "pass-ann-0123456789", "ae", ae=names[0],
                      email="ann@station.example")
    users.create_user(path, "bob", "pass-bob-0123456789", "ae", ae=names[1],
                      email="bob@station.example")
    users.create_user(path, "meg", "pass-meg-0123456789", "manager", email="meg@station.example")
    return path


@pytest.fixture()
def db(digest_db: Path, tmp_path: Path, database: str) -> Path | str:
    """The digest data: a SQLite copy, or the same rows in a PostgreSQL database (a URL)."""
    if "://" in database:
        from tests.core.copy_data import copy_database

        copy_database(digest_db, database)
        return database
    copy = tmp_path / "bookedbiz.db"
    copy.write_bytes(digest_db.read_bytes())
    return copy


class Recording:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[tuple[list[str], Message]]:
        return [(list(e.rcpt_tos), email.message_from_bytes(e.content))
                for e in self.envelopes]


def _authenticate(server, session, envelope, mechanism, data):  # noqa: ANN001, ANN202
    return AuthResult(success=isinstance(data, LoginPassword)
                      and data.password == MAIL_PASSWORD.encode())


@pytest.fixture()
def smtp() -> Iterator[tuple[Recording, int]]:
    handler = Recording()
    for attempt in range(5):  # a free port may be taken between the probe and the bind
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        controller = Controller(handler, hostname="127.0.0.1", port=port,
                                authenticator=_authenticate, auth_require_tls=False)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            if attempt == 4:
                raise
    yield handler, port
    controller.stop()


@pytest.fixture()
def env(db: Path | str, smtp: tuple[Recording, int], tmp_path: Path) -> dict[str, str]:
    where = ({"DATABASE_URL": db} if isinstance(db, str) else {"DATABASE_PATH": str(db)})
    return {**where, "DATA_PATH": str(tmp_path), "SECRET_KEY": SECRET_KEY,
            "NTFY_TOPIC": NTFY_TOPIC, "NOTIFY_URLS": "", "NOTIFY_TIMEOUT_SECONDS": "5",
            "MAIL_URL": f"mailto://digest:{MAIL_PASSWORD}@127.0.0.1:{smtp[1]}"
                        "?from=digest@station.example"}


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


def html_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode("utf-8")
    raise AssertionError("no HTML part")


def xlsx_part(message: Message) -> tuple[str, bytes]:
    for part in message.walk():
        if part.get_filename():
            return part.get_filename(), part.get_payload(decode=True)
    raise AssertionError("no attachment")


def table_rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>.*?</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


def dollars(text: str) -> Decimal | None:
    text = text.replace("$", "").replace(",", "").strip()
    return None if text in ("–", "") else Decimal(text)


def raw(message: Message) -> str:
    return message.as_string()


def subscribe(env: dict[str, str], *args: str) -> None:
    code, output = run(env, "digest", "subscribe", *args)
    assert code == 0, output


def test_weekly_digest_carries_only_the_aes_own_book(env, smtp, db: Path | str) -> None:  # noqa: ANN001
    handler, _port = smtp
    token = users.create_token(db, "ann", "spreadsheet")[1]
    for name in ("ann", "bob", "meg"):
        subscribe(env, name, "weekly")
    code, output = run(env, "digest", "send", "weekly", "--as-of", AS_OF.isoformat())
    assert code == 0, output
    assert "3 sent, 0 failed" in output
    received = {to[0]: message for to, message in handler.messages()}
    assert set(received) == {"ann@station.example", "bob@station.example",
                             "meg@station.example"}
    assert all(len(to) == 1 for to, _m in handler.messages())  # one recipient per message
    ae_names = dict(dbstate.rows(
        db, "SELECT u.username, a.name FROM users u JOIN aes a ON a.ae_id = u.ae_id"))
    for username, address in (("ann", "ann@station.example"), ("bob", "bob@station.example")):
        message = received[address]
        html = html_part(message)
        assert ae_names[username] in message["Subject"] or ae_names[username] in html
        other = ae_names["bob" if username == "ann" else "ann"]
        assert other not in raw(message)
        # equal to `report pacing` for their AE, month by month, and the total
        code, out = run(env, "report", "pacing", "--as-of", AS_OF.isoformat(), "--ae",
                        ae_names[username], "--format", "json")
        assert code == 0, out
        expected = json.loads(out)
        rows = table_rows(html)
        assert len(rows) == len(expected) + 1  # + the total
        for row, want in zip(rows, expected, strict=False):
            assert dollars(row[2]) == Decimal(str(want["booked_gross"]))
            assert dollars(row[3]) == Decimal(str(want["stly_gross"]))
            assert dollars(row[5]) == Decimal(str(want["last_year_gross"]))
        with reading_from(db) as read:
            total = pacing_report(read, as_of=AS_OF, filters=ReportFilters(
                scope_ae_id=users.get_user_by_username(read, username).ae_id))["total"]
        assert dollars(rows[-1][2]) == total["booked_gross"]  # exact, not a sum of rows
        # a valid workbook with the same figures
        name, body = xlsx_part(message)
        assert name.endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
        values = [c for row in sheet.iter_rows(values_only=True) for c in row]
        for want in expected:
            if want["booked_gross"]:
                assert any(isinstance(v, int | float) and abs(v - want["booked_gross"]) < 0.005
                           for v in values), want["month"]
    # the manager's digest is the company's: bigger than either AE's book
    meg_rows = table_rows(html_part(received["meg@station.example"]))
    ann_rows = table_rows(html_part(received["ann@station.example"]))
    assert dollars(meg_rows[-1][2]) > dollars(ann_rows[-1][2])
    # no secret in any message: the mail password, the session key, an API token, the topic
    for _to, message in handler.messages():
        text = raw(message) + html_part(message)
        for secret in (MAIL_PASSWORD, SECRET_KEY, token, NTFY_TOPIC):
            assert secret not in text
    assert MAIL_PASSWORD not in output
    # a second run for the same week sends nothing more
    code, output = run(env, "digest", "send", "weekly", "--as-of", AS_OF.isoformat())
    assert code == 0 and "0 sent, 0 failed, 3 skipped" in output, output
    assert len(handler.envelopes) == 3


def test_daily_digest_carries_the_changes(env, smtp, db: Path | str) -> None:  # noqa: ANN001
    handler, _port = smtp
    subscribe(env, "meg", "daily")
    subscribe(env, "ann", "daily")
    code, output = run(env, "digest", "send", "daily", "--as-of", AS_OF.isoformat())
    assert code == 0, output
    received = {to[0]: message for to, message in handler.messages()}
    ann_ae = dbstate.scalar(db, "SELECT ae_id FROM users WHERE username = 'ann'")
    days = [d for (d,) in dbstate.rows(
        db, "SELECT DISTINCT as_of FROM history_records WHERE as_of <= :d ORDER BY as_of DESC "
        "LIMIT 2", d=AS_OF.isoformat())]
    since, until = date.fromisoformat(days[1]), date.fromisoformat(days[0])
    with reading_from(db) as read:
        company = changes_report(read, since=since, until=until)
        own = changes_report(read, since=since, until=until,
                             filters=ReportFilters(scope_ae_id=ann_ae))
    assert company["rows"], "the last import changed something"
    for address, report in (("meg@station.example", company), ("ann@station.example", own)):
        message = received[address]
        html = html_part(message)
        assert f"{since} → {until}" in message["Subject"] or str(until) in html
        net = report["totals"]["net"]
        assert f"${net['gross_change']:,.2f}" in html
        rows = table_rows(html) if report["rows"] else []
        assert len(rows) == (len(report["rows"]) + 1 if report["rows"] else 0)
        for row, want in zip(rows, report["rows"], strict=False):
            assert (row[3], dollars(row[7])) == (want["customer"], want["gross_change"])
        name, body = xlsx_part(message)
        assert name.endswith(".xlsx")
        book = openpyxl.load_workbook(io.BytesIO(body))
        assert book.worksheets[0].max_row >= 1
    own_customers = {r["customer"] for r in own["rows"]}
    others = {r["customer"] for r in company["rows"]} - own_customers
    ann_html = html_part(received["ann@station.example"])
    assert not any(f">{name}<" in ann_html for name in others)


def test_apprise_url_target_and_listing_never_show_the_url(env, recorder, db: Path | str) -> None:  # noqa: ANN001
    url = recorder.url("json", "hooks/secret-path-token-12345")
    subscribe(env, "bob", "weekly", "--target", url)
    code, output = run(env, "digest", "list")
    assert code == 0 and "secret-path-token" not in output and "json://" in output, output
    code, output = run(env, "digest", "send", "weekly", "--as-of", AS_OF.isoformat(),
                       "--user", "bob")
    assert code == 0, output
    assert "secret-path-token" not in output
    posted = recorder.wait_for(1)
    assert posted and posted[0].path.startswith("/hooks/secret-path-token-12345")
    body = posted[0].json()
    assert "Weekly pacing" in body["title"]
    assert body.get("attachments"), "the XLSX travels with the message"
    attachment = body["attachments"][0]
    assert attachment["filename"].endswith(".xlsx")


def test_preview_sends_nothing_and_bad_input_is_one_sentence(env, smtp, db: Path | str,
                                                             tmp_path: Path) -> None:  # noqa: ANN001
    handler, port = smtp
    out = tmp_path / "preview.xlsx"
    code, output = run(env, "digest", "preview", "weekly", "--user", "ann", "--as-of",
                       AS_OF.isoformat(), "--xlsx", str(out))
    assert code == 0 and "Weekly pacing" in output, output
    openpyxl.load_workbook(out)
    assert handler.envelopes == []
    for args, words in (
        (("digest", "send", "weekly", "--user", "nobody"), "no user"),
        (("digest", "send", "weekly", "--user", "ann"), "no weekly digest subscription"),
        (("digest", "subscribe", "ann", "weekly", "--target", "not a url"), "Apprise URL"),
        (("digest", "send", "weekly", "--as-of", "2999-01-01"), "future"),
    ):
        code, output = run(env, *args)
        assert code != 0 and words in output, (args, output)
        assert "Traceback" not in output
    # MAIL_URL naming its own recipients is refused (nobody else may get an AE's book)
    subscribe(env, "ann", "weekly")
    bad = dict(env, MAIL_URL=f"mailto://digest:{MAIL_PASSWORD}@127.0.0.1:{port}/boss@x.example")
    code, output = run(bad, "digest", "send", "weekly", "--as-of", AS_OF.isoformat())
    assert code != 0 and "must not name recipients" in output
    assert MAIL_PASSWORD not in output and handler.envelopes == []
    # a user without an address cannot subscribe by e-mail
    users.create_user(db, "nomail", "pass-nomail-0123456789", "viewer")
    code, output = run(env, "digest", "subscribe", "nomail", "daily")
    assert code != 0 and "no e-mail address" in output


def test_deploy_render_schedules_the_digests(tmp_path: Path) -> None:
    from bookedbiz.deploy.render import DeployParams, render_files

    files = render_files(DeployParams(prefix=Path("/opt/bookedbiz"), user="bookedbiz",
                                      data_dir=Path("/srv/bookedbiz"),
                                      daily_update_at=("03:30", "15:30")))
    daily = files["systemd/bookedbiz-digest-daily.timer"]
    assert "OnCalendar=*-*-* 04:15:00\nOnCalendar=*-*-* 16:15:00" in daily
    assert "OnCalendar=Mon *-*-* 04:30:00" in files["systemd/bookedbiz-digest-weekly.timer"]
    service = files["systemd/bookedbiz-digest-weekly.service"]
    assert "ExecStart=/opt/bookedbiz/.venv/bin/bookedbiz digest send weekly" in service
    assert "bookedbiz-digest-weekly.timer" in files["install.sh"]
    assert "#MAIL_URL=" in files["etc/bookedbiz.env"]


def test_revision_0010_adds_the_table_and_keeps_every_row(digest_db: Path,
                                                         tmp_path: Path) -> None:
    """A database at 0009 with data (users, spots, history) upgrades to 0010: the table
    appears, every row and total stays; a second upgrade changes nothing."""
    from bookedbiz.db.migrate import SCHEMA_HEAD, current_version, init_database

    path = tmp_path / "old.db"
    path.write_bytes(digest_db.read_bytes())
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE digest_subscriptions")
    conn.execute("UPDATE alembic_version SET version_num = '0009'")
    conn.commit()

    def totals() -> tuple:
        return (conn.execute("SELECT COUNT(*), SUM(gross_rate_micros) FROM spots").fetchone(),
                conn.execute("SELECT COUNT(*), SUM(gross_micros) FROM booking_history")
                .fetchone(),
                conn.execute("SELECT COUNT(*), group_concat(username) FROM users").fetchone())

    before = totals()
    conn.close()
    init_database(path)
    assert current_version(path) == SCHEMA_HEAD  # 0010, then any later index revision
    conn = sqlite3.connect(path)
    assert totals() == before
    conn.execute("INSERT INTO digest_subscriptions (user_id, kind, target, created_at) "
                 "SELECT user_id, 'weekly', 'email', 'now' FROM users WHERE username = 'ann'")
    conn.commit()
    conn.close()
    init_database(path)  # idempotent
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM digest_subscriptions").fetchone()[0] == 1
    assert totals() == before
    conn.close()


def test_subscribe_is_idempotent_and_a_user_removes_only_their_own(env, db: Path | str) -> None:  # noqa: ANN001
    from bookedbiz.errors import NotFoundError
    from bookedbiz.jobs.digest_subscriptions import unsubscribe

    subscribe(env, "ann", "weekly")
    subscribe(env, "ann", "weekly")  # the same one again: still one
    subscribe(env, "bob", "daily")
    count = "SELECT COUNT(*) FROM digest_subscriptions"
    assert dbstate.scalar(db, count) == 2
    anns = dbstate.scalar(db, "SELECT subscription_id FROM digest_subscriptions d JOIN users u "
                              "ON u.user_id = d.user_id WHERE u.username = 'ann'")
    with pytest.raises(NotFoundError, match="no such digest subscription"):
        unsubscribe(db, "bob", subscription_id=anns)  # not bob's to remove
    assert dbstate.scalar(db, count) == 2
    code, output = run(env, "digest", "unsubscribe", "ann", "weekly")
    assert code == 0 and "Removed 1 weekly" in output, output
    code, output = run(env, "digest", "unsubscribe", "ann", "weekly")
    assert code != 0 and "no such digest subscription" in output
    code, output = run(env, "digest", "unsubscribe", "nobody", "weekly")
    assert code != 0 and "no user 'nobody'" in output
    assert dbstate.rows(db, "SELECT kind FROM digest_subscriptions") == [("daily",)]
