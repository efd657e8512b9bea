"""Alerts reach the configured channel (a real HTTP server, a real SMTP conversation), say nothing
about a child, and never fail the run when the channel is down."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from casehistory import alerts
from casehistory.freshness import FeedFreshness


@pytest.fixture
def webhook(monkeypatch):
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"content_type": self.headers["Content-Type"], "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")
    monkeypatch.setenv("CASEHISTORY_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()
    server.server_close()


STALE = [FeedFreshness("police", "warn", datetime(2026, 1, 10, 3, 0), 124.8, "2 day", "7 day"),
         FeedFreshness("school", "error", None, None, "7 day", "21 day", "nothing received yet")]


def test_a_stale_feed_alert_is_posted_as_json_to_the_webhook(webhook):
    assert alerts.send(alerts.stale_feeds(STALE, "scheduled__2026-01-15"))
    [call] = webhook
    assert call["content_type"] == "application/json"
    assert call["body"]["kind"] == "stale_feed"
    assert call["body"]["subject"] == "[casehistory] stale feed: police, school"
    assert ("police: warn; last received 2026-01-10 03:00 (5.2 days ago); warn after 2 day, error after 7 day"
            in call["body"]["text"])
    assert "school: error; nothing received yet; warn after 7 day, error after 21 day" in call["body"]["text"]


def test_review_readiness_gaps_alert_once_naming_the_reviews_and_nothing_when_ready(webhook):
    lines = ["review R1 (deadline 2026-02-01): police missing: 0 own records; named in 3 records of 2 agencies",
             "review R2 (deadline 2026-02-10): hv late: received 2026-02-12"]
    assert alerts.send_review_readiness([], "r1") is None
    assert webhook == []
    assert alerts.send_review_readiness(lines, "scheduled__2026-01-15") is True
    [call] = webhook
    assert call["body"]["kind"] == "review_not_ready"
    assert call["body"]["subject"] == "[casehistory] review not ready: R1, R2"
    assert all(line in call["body"]["text"] for line in lines)


def test_a_failed_task_alert_names_the_task_and_the_error_type_but_not_the_message(webhook):
    alert = alerts.task_failed("nightly", "load", "manual__1", 3, map_label="police_ppn", error_type="AirflowFailException")
    assert alerts.send(alert)
    body = webhook[0]["body"]
    assert body["subject"] == "[casehistory] nightly: load[police_ppn] failed"
    assert "attempt 3" in body["text"] and "AirflowFailException" in body["text"]


def test_a_failure_alert_from_the_dag_callback_carries_no_exception_text(webhook):
    """The exception message can quote a row (a name, an NHS number): the alert must not."""
    from types import SimpleNamespace

    from casehistory.dag_support import on_task_failure

    ti = SimpleNamespace(dag_id="nightly", task_id="load", map_index=2, try_number=1)
    secret = "Amy Smith 9434765919"
    on_task_failure({"task_instance": ti, "run_id": "manual__1", "source_name": "csc_activity",
                     "exception": ValueError(f"bad row: {secret}")})
    body = webhook[0]["body"]
    assert "load[csc_activity]" in body["subject"] and "ValueError" in body["text"]
    assert "Amy" not in json.dumps(body) and "9434765919" not in json.dumps(body)


def test_an_unreachable_webhook_is_logged_and_does_not_raise(monkeypatch, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")
    monkeypatch.setenv("CASEHISTORY_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}/hook")
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    assert "could not be delivered" in caplog.text


def test_a_misconfigured_channel_is_reported(monkeypatch, caplog):
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "pager")
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    assert "CASEHISTORY_ALERT_CHANNEL='pager'" in caplog.text
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")
    monkeypatch.delenv("CASEHISTORY_ALERT_WEBHOOK_URL", raising=False)
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    assert "needs CASEHISTORY_ALERT_WEBHOOK_URL" in caplog.text


def test_the_email_channel_speaks_smtp(monkeypatch):
    """A minimal SMTP server on a thread: enough of the protocol for smtplib to deliver one message."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got: list[str] = []

    def serve():
        conn, _ = server.accept()
        f = conn.makefile("rwb")

        def reply(line: str):
            f.write((line + "\r\n").encode())
            f.flush()

        reply("220 test")
        data = False
        for raw in f:
            line = raw.decode().rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    reply("250 queued")
                else:
                    got.append(line)
            elif line.upper().startswith(("EHLO", "HELO")):
                reply("250 test")
            elif line.upper() == "DATA":
                data = True
                reply("354 go on")
            elif line.upper() == "QUIT":
                reply("221 bye")
                break
            else:
                reply("250 ok")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "email")
    monkeypatch.setenv("CASEHISTORY_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CASEHISTORY_ALERT_SMTP_PORT", str(server.getsockname()[1]))
    monkeypatch.setenv("CASEHISTORY_ALERT_EMAIL_FROM", "casehistory@example.org")
    monkeypatch.setenv("CASEHISTORY_ALERT_EMAIL_TO", "data-team@example.org, duty@example.org")
    assert alerts.send(alerts.stale_feeds(STALE, "r1"))
    thread.join(timeout=10)
    server.close()
    message = "\n".join(got)
    assert "Subject: [casehistory] stale feed: police, school" in message
    assert "To: data-team@example.org, duty@example.org" in message
    assert "police: warn; last received 2026-01-10 03:00" in message
