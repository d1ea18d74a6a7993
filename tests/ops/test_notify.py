"""Notifications through real Apprise against a local recording server on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest

from bookedbiz.config import Settings
from bookedbiz.notify import Level, Message, redact, send_message, target_urls
from bookedbiz.notify.message import BODY_LIMIT_BYTES, cap_body, normalize_priority
from bookedbiz.notify.redact import describe_url

NTFY_PRIORITIES = {"1", "2", "3", "4", "5", "min", "low", "default", "high", "max", "urgent"}
TRICKY = 'He said "stop" & left <now>\nline two\ttab \\ backslash ✅'


def test_ntfy_failure_has_valid_priority_tags_and_title(recorder) -> None:
    url = recorder.url("ntfy", "ops-alerts-7f3k")
    settings = Settings(notify_urls=url)
    message = Message("BookedBiz backup FAILED", "upload failed\nexit 3", Level.FAILURE)
    [delivery] = send_message(message, settings)
    assert delivery.ok, delivery.detail
    [req] = recorder.requests
    assert req.headers["X-Priority"] in NTFY_PRIORITIES and req.headers["X-Priority"] == "max"
    assert req.headers["X-Tags"] == "rotating_light"
    payload = req.json()
    assert payload["topic"] == "ops-alerts-7f3k"
    assert payload["title"] == "BookedBiz backup FAILED"
    assert payload["message"] == "upload failed\nexit 3"
    assert delivery.target == f"ntfy://127.0.0.1:{recorder.port}/***"


def test_ntfy_success_is_low_priority_with_check_mark(recorder) -> None:
    settings = Settings(notify_urls=recorder.url("ntfy", "topic-abc"))
    send_message(Message("ok", "done", Level.SUCCESS), settings)
    [req] = recorder.requests
    assert req.headers["X-Priority"] == "low" and req.headers["X-Tags"] == "white_check_mark"


def test_json_target_survives_quotes_and_newlines(recorder) -> None:
    settings = Settings(notify_urls=recorder.url("json", "hook"))
    [delivery] = send_message(Message('Title "quoted"', TRICKY, Level.FAILURE), settings)
    assert delivery.ok
    payload = recorder.requests[0].json()
    assert payload["message"] == TRICKY
    assert payload["title"] == '🚨 Title "quoted"'
    assert payload["type"] == "failure"


def test_slack_webhook_json_is_valid_with_quotes_and_newlines(recorder, monkeypatch) -> None:
    """Real Apprise Slack plugin; only its fixed hooks.slack.com base is pointed at our server."""
    from apprise.plugins.slack import NotifySlack

    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{recorder.port}/services")
    hook = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/cccccccccccccccccccccccc"
    settings = Settings(slack_webhook_url=hook)
    assert target_urls(settings) == ["slack://T0AAAAAAA/B0BBBBBBB/cccccccccccccccccccccccc"]
    [delivery] = send_message(Message("Import FAILED", TRICKY, Level.FAILURE), settings)
    assert delivery.ok, delivery.detail
    [req] = recorder.requests
    assert req.path == "/services/T0AAAAAAA/B0BBBBBBB/cccccccccccccccccccccccc"
    assert req.headers["Content-Type"].startswith("application/json")
    payload = json.loads(req.body)  # would raise on the old string-built JSON
    text = json.dumps(payload)
    assert "line two" in text and "stop" in text and "Import FAILED" in text


def test_legacy_ntfy_topic_becomes_an_https_ntfy_url() -> None:
    settings = Settings(ntfy_topic="ctv-import-x9", notify_urls="json://127.0.0.1:1/a")
    assert target_urls(settings) == ["json://127.0.0.1:1/a", "ntfys://ntfy.sh/ctv-import-x9"]


@pytest.mark.parametrize("mode", ["status500", "hang", "refused"])
def test_failed_delivery_is_reported_bounded_and_redacted(recorder, mode) -> None:
    topic = "very-secret-topic-q1"
    if mode == "status500":
        recorder.status = 500
    if mode == "hang":
        recorder.hang = 10
    port = 9 if mode == "refused" else recorder.port
    settings = Settings(notify_urls=f"ntfy://127.0.0.1:{port}/{topic}")
    start = time.monotonic()
    [delivery] = send_message(Message("t", "b", Level.FAILURE), settings, timeout=1.0)
    assert time.monotonic() - start < 5
    assert not delivery.ok
    assert topic not in delivery.detail and topic not in delivery.target
    if mode == "status500":
        assert "500" in delivery.detail


def test_invalid_url_is_a_failed_delivery_not_an_exception() -> None:
    [delivery] = send_message(Message("t", "b"), Settings(notify_urls="nosuchscheme://x/y"))
    assert not delivery.ok and "not a valid Apprise URL" in delivery.detail


def test_secrets_in_the_message_are_redacted_before_sending(recorder) -> None:
    settings = Settings(notify_urls=recorder.url("json", "hook"),
                        dropbox_refresh_token="refresh-tok-999888", ntfy_topic="topic-zz-123")
    body = "token refresh-tok-999888 topic topic-zz-123 https://u:pa55word@host/x"
    send_message(Message("t", body), settings, urls=[recorder.url("json", "hook")])
    sent = recorder.requests[0].body.decode()
    for secret in ("refresh-tok-999888", "topic-zz-123", "pa55word"):
        assert secret not in sent
    assert "***" in sent


def test_body_is_capped_in_utf8_bytes_keeping_head_and_tail() -> None:
    text = "SUMMARY\n" + "é" * 5000 + "\nLAST LINE"
    capped = cap_body(text)
    assert len(capped.encode()) <= BODY_LIMIT_BYTES
    assert capped.startswith("SUMMARY") and capped.endswith("LAST LINE")
    assert Message("t", text).body == capped


def test_priorities_accept_ntfy_names_and_reject_the_old_info_error() -> None:
    assert normalize_priority("urgent") == "max" and normalize_priority("5") == "max"
    assert normalize_priority("low") == "low"
    for bad in ("info", "error"):
        with pytest.raises(ValueError):
            normalize_priority(bad)


def test_redact_patterns_and_target_descriptions() -> None:
    text = ("slack https://hooks.slack.com/services/T1/B2/abc tok tk_abcdefgh12345 "
            "Bearer abcdefghijkl xoxb-1234-abcd DROPBOX_APP_SECRET=s3 url https://a:b@h/")
    out = redact(text)
    for secret in ("T1/B2/abc", "tk_abcdefgh12345", "abcdefghijkl", "xoxb-1234", "=s3", "a:b@"):
        assert secret not in out
    assert describe_url("ntfys://ntfy.sh/secret") == "ntfys://ntfy.sh/***"
    assert describe_url("ntfy://secret-topic") == "ntfy://***"
    assert describe_url("slack://A/B/C") == "slack://***"
