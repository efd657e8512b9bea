"""Alerts go out through Airflow's notifiers (the HTTP provider's HttpNotifier, the SMTP provider's
SmtpNotifier) with the credentials in an Airflow Connection (here AIRFLOW_CONN_* variables, as a
deployment's .env or secrets backend gives them), reach a real HTTP server and a real SMTP
conversation on 127.0.0.1, say nothing about a child, and never fail the run when the channel is down."""

from __future__ import annotations

import base64
import email
import html
import json
import socket
import threading
from datetime import datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from casehistory import alerts
from casehistory.freshness import FeedFreshness

STALE = [FeedFreshness("police", "warn", datetime(2026, 1, 10, 3, 0), 124.8, "2 day", "7 day"),
         FeedFreshness("school", "error", None, None, "7 day", "21 day", "nothing received yet")]
SECRET = "Amy Smith 9434765919"  # what an exception message can quote from a row
HOOK_TOKEN = "T0001/B0002/not-a-real-token"  # a webhook URL's path is its credential (Slack, Teams)


@pytest.fixture(autouse=True)
def _no_alert_settings(monkeypatch):
    """Whatever the developer's shell has: no channel, no connection, no retired variable."""
    for name in ("CHANNEL", "EMAIL_TO", "SMTP_CONN_ID", "WEBHOOK_CONN_ID", *alerts.RETIRED):
        monkeypatch.delenv(f"CASEHISTORY_ALERT_{name}", raising=False)
    for conn_id in (alerts.SMTP_CONN_ID, alerts.WEBHOOK_CONN_ID):
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once closed


def _ours(caplog) -> str:
    """What casehistory.alerts itself logged (the providers' hooks log on their own loggers)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "casehistory.alerts")


class _Webhook:
    def __init__(self, status: int = 204):
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "content_type": self.headers["Content-Type"],
                                 "authorization": self.headers.get("Authorization"), "body": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/{HOOK_TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _webhook_connection(monkeypatch, url: str, **fields) -> None:
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")
    monkeypatch.setenv("AIRFLOW_CONN_CASEHISTORY_ALERTS_WEBHOOK", json.dumps({"conn_type": "http", "host": url, **fields}))


@pytest.fixture
def webhook(monkeypatch):
    server = _Webhook()
    _webhook_connection(monkeypatch, server.url)
    yield server.received
    server.close()


def test_a_stale_feed_alert_is_posted_as_json_to_the_connections_url(webhook):
    assert alerts.send(alerts.stale_feeds(STALE, "scheduled__2026-01-15"))
    [call] = webhook
    assert call["path"] == f"/hook/{HOOK_TOKEN}"
    assert call["content_type"] == "application/json"
    assert call["body"]["kind"] == "stale_feed"
    assert call["body"]["subject"] == "[casehistory] stale feed: police, school"
    assert ("police: warn; last received 2026-01-10 03:00 (5.2 days ago); warn after 2 day, error after 7 day"
            in call["body"]["text"])
    assert "school: error; nothing received yet; warn after 7 day, error after 21 day" in call["body"]["text"]
    assert call["body"]["text"] == alerts.stale_feeds(STALE, "scheduled__2026-01-15").text


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


def _failure_context() -> dict:
    from types import SimpleNamespace

    ti = SimpleNamespace(dag_id="nightly", task_id="load", map_index=2, try_number=1)
    return {"task_instance": ti, "run_id": "manual__1", "source_name": "csc_activity",
            "exception": ValueError(f"bad row: {SECRET}")}


def test_a_failure_alert_from_the_dag_callback_carries_no_exception_text(webhook):
    """The exception message can quote a row (a name, an NHS number): the alert must not."""
    from casehistory.dag_support import on_task_failure

    on_task_failure(_failure_context())
    body = webhook[0]["body"]
    assert "load[csc_activity]" in body["subject"] and "ValueError" in body["text"]
    assert "Amy" not in json.dumps(body) and "9434765919" not in json.dumps(body)


def test_the_webhook_connections_login_is_sent_as_basic_auth(monkeypatch):
    server = _Webhook()
    try:
        _webhook_connection(monkeypatch, server.url, login="relay", password="relay-password")
        assert alerts.send(alerts.stale_feeds(STALE, "r1"))
    finally:
        server.close()
    [call] = server.received
    assert call["authorization"] == "Basic " + base64.b64encode(b"relay:relay-password").decode()


def test_an_unreachable_webhook_is_logged_without_its_token_and_does_not_raise(monkeypatch, caplog):
    _webhook_connection(monkeypatch, f"http://127.0.0.1:{_closed_port()}/hook/{HOOK_TOKEN}")
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    ours = _ours(caplog)
    assert "could not be delivered: ConnectionError" in ours
    assert HOOK_TOKEN not in ours and "not-a-real-token" not in ours
    # and Airflow's secrets masker hides it in the task logs, the HTTP hook's own warnings included
    from airflow.sdk._shared.secrets_masker import redact

    assert "not-a-real-token" not in str(redact(f"url: /hook/{HOOK_TOKEN} failed"))


def test_a_webhook_answering_an_error_status_is_not_delivered(monkeypatch, caplog):
    server = _Webhook(status=500)
    try:
        _webhook_connection(monkeypatch, server.url)
        assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    finally:
        server.close()
    assert len(server.received) == 1
    assert "could not be delivered" in _ours(caplog) and "500" in _ours(caplog)


def test_a_misconfigured_channel_is_reported(monkeypatch, caplog):
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "pager")
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    assert "CASEHISTORY_ALERT_CHANNEL='pager'" in _ours(caplog)
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")  # and no connection
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    assert "casehistory_alerts_webhook" in _ours(caplog) and "isn't defined" in _ours(caplog)


def test_credentials_in_casehistory_variables_are_no_longer_read(monkeypatch, caplog):
    """The old CASEHISTORY_ALERT_WEBHOOK_URL points at a live server: nothing is sent there, and the
    log says where the URL belongs now."""
    server = _Webhook()
    try:
        monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")
        monkeypatch.setenv("CASEHISTORY_ALERT_WEBHOOK_URL", server.url)
        monkeypatch.setenv("CASEHISTORY_ALERT_SMTP_PASSWORD", "old-password")
        assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    finally:
        server.close()
    assert server.received == []
    ours = _ours(caplog)
    assert "CASEHISTORY_ALERT_WEBHOOK_URL, CASEHISTORY_ALERT_SMTP_PASSWORD no longer read" in ours
    assert "casehistory_alerts_webhook" in ours and "old-password" not in ours


def test_the_log_channel_needs_no_connection(caplog):
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is True
    assert "ALERT stale_feed: [casehistory] stale feed: police, school\n" in _ours(caplog)


class _SmtpSink:
    """A minimal SMTP server on 127.0.0.1: enough of the protocol (EHLO, AUTH PLAIN, MAIL, RCPT, DATA)
    for smtplib to deliver, recording each command and message."""

    def __init__(self, connections: int = 1, timeout: float = 10):
        self.commands: list[str] = []
        self.messages: list[str] = []
        self.timeout = timeout
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(connections)
        self.sock.settimeout(timeout)  # a test that never connects does not leave the thread waiting
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self.thread.start()

    def _serve(self, connections: int):
        for _ in range(connections):
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self._converse(conn)
            except OSError:  # the client went away mid-conversation: what it sent is recorded
                pass

    def _converse(self, conn: socket.socket):
        conn.settimeout(self.timeout)
        with conn, conn.makefile("rwb") as f:
            def reply(*lines: str):
                f.write("".join(line + "\r\n" for line in lines).encode())
                f.flush()

            reply("220 sink ready")
            data: list[str] | None = None
            for raw in f:
                line = raw.decode().rstrip("\r\n")
                if data is not None:
                    if line == ".":
                        self.messages.append("\n".join(data))
                        data = None
                        reply("250 queued")
                    else:
                        data.append(line[1:] if line.startswith("..") else line)
                    continue
                verb = line.split(" ", 1)[0].upper()
                self.commands.append(verb + line[len(verb):])  # smtplib writes "mail FROM:<...>"
                if verb == "EHLO":
                    reply("250-sink", "250-AUTH PLAIN", "250 8BITMIME")
                elif verb == "HELO":
                    reply("250 sink")
                elif verb == "AUTH":
                    reply("235 authenticated")
                elif verb == "DATA":
                    data = []
                    reply("354 go on")
                elif verb == "QUIT":
                    reply("221 bye")
                    break
                else:
                    reply("250 ok")

    def close(self):
        self.thread.join(timeout=self.timeout)
        self.sock.close()


def _smtp_json(port: int) -> str:
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "login": "alerts",
                       "password": "smtp-password",
                       "extra": {"from_email": "casehistory@example.org", "disable_ssl": True, "disable_tls": True,
                                 "timeout": 10, "retry_limit": 0}})


def _smtp_uri(port: int) -> str:
    return (f"smtp://alerts:smtp-password@127.0.0.1:{port}"
            "?from_email=casehistory%40example.org&disable_ssl=true&disable_tls=true&timeout=10&retry_limit=0")


def _email_channel(monkeypatch, connection: str) -> None:
    monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "email")
    monkeypatch.setenv("CASEHISTORY_ALERT_EMAIL_TO", "data-team@example.org, duty@example.org")
    monkeypatch.setenv("AIRFLOW_CONN_CASEHISTORY_ALERTS_SMTP", connection)


def _body(message: Message) -> str:
    """The text inside the notifier's HTML body, as the alert builder wrote it."""
    [part] = [p for p in message.walk() if p.get_content_type() == "text/html"]
    markup = part.get_payload(decode=True).decode(part.get_content_charset())
    assert markup.startswith("<pre>") and markup.endswith("</pre>")
    return html.unescape(markup[len("<pre>"):-len("</pre>")])


@pytest.mark.parametrize("connection", [_smtp_json, _smtp_uri], ids=["json", "uri"])
def test_the_email_channel_sends_through_the_smtp_connection(monkeypatch, connection):
    sink = _SmtpSink()
    _email_channel(monkeypatch, connection(sink.port))
    alert = alerts.stale_feeds(STALE, "r1")
    try:
        assert alerts.send(alert)
    finally:
        sink.close()
    # the login and sender are the Connection's, the recipients the setting's
    [auth] = [c for c in sink.commands if c.startswith("AUTH")]
    assert base64.b64decode(auth.split()[-1]) == b"\0alerts\0smtp-password"
    assert "MAIL FROM:<casehistory@example.org>" in sink.commands
    assert {c for c in sink.commands if c.startswith("RCPT")} == {"RCPT TO:<data-team@example.org>",
                                                                   "RCPT TO:<duty@example.org>"}
    [raw] = sink.messages
    message = email.message_from_string(raw)
    assert message["Subject"] == "[casehistory] stale feed: police, school"
    assert message["From"] == "casehistory@example.org"
    assert message["To"] == "data-team@example.org, duty@example.org"
    assert _body(message) == alert.text  # word for word what the builder says
    assert "police: warn; last received 2026-01-10 03:00" in _body(message)


def test_a_failure_alert_by_email_carries_no_exception_text(monkeypatch):
    from casehistory.dag_support import on_task_failure

    sink = _SmtpSink()
    _email_channel(monkeypatch, _smtp_json(sink.port))
    try:
        on_task_failure(_failure_context())
    finally:
        sink.close()
    [raw] = sink.messages
    message = email.message_from_string(raw)
    assert message["Subject"] == "[casehistory] nightly: load[csc_activity] failed"
    assert "Error type: ValueError." in _body(message)
    for text in (raw, _body(message)):
        assert "Amy" not in text and "9434765919" not in text and "bad row" not in text


def test_an_unreachable_smtp_server_is_logged_and_does_not_raise(monkeypatch, caplog):
    _email_channel(monkeypatch, _smtp_json(_closed_port()))
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    assert "could not be delivered: ConnectionRefusedError" in _ours(caplog)
    assert "smtp-password" not in caplog.text


def test_the_email_channel_needs_recipients(monkeypatch, caplog):
    _email_channel(monkeypatch, _smtp_json(_closed_port()))
    monkeypatch.delenv("CASEHISTORY_ALERT_EMAIL_TO")
    assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
    assert "needs CASEHISTORY_ALERT_EMAIL_TO" in _ours(caplog)


def test_another_connection_id_can_be_named(monkeypatch):
    server = _Webhook()
    try:
        monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")
        monkeypatch.setenv("CASEHISTORY_ALERT_WEBHOOK_CONN_ID", "teams_data_team")
        monkeypatch.setenv("AIRFLOW_CONN_TEAMS_DATA_TEAM", json.dumps({"conn_type": "http", "host": server.url}))
        assert alerts.send(alerts.stale_feeds(STALE, "r1"))
    finally:
        server.close()
    assert len(server.received) == 1


def test_a_webhook_url_given_as_a_plain_uri_is_reported_and_the_encoded_one_works(monkeypatch, caplog):
    """`AIRFLOW_CONN_X=http://host/path` puts the path in the schema field, which the HTTP hook takes
    for the scheme; the URL percent-encoded as the host (Airflow's form for a host with a protocol) works."""
    from urllib.parse import quote

    server = _Webhook()
    try:
        monkeypatch.setenv("CASEHISTORY_ALERT_CHANNEL", "webhook")
        for plain in (server.url, server.url.split("/hook/")[0] + "/hook"):  # a path of one segment too
            monkeypatch.setenv("AIRFLOW_CONN_CASEHISTORY_ALERTS_WEBHOOK", plain)
            caplog.clear()
            assert alerts.send(alerts.stale_feeds(STALE, "r1")) is False
            assert "give the whole webhook URL as its host" in _ours(caplog)
        monkeypatch.setenv("AIRFLOW_CONN_CASEHISTORY_ALERTS_WEBHOOK", "http://" + quote(server.url, safe=""))
        assert alerts.send(alerts.stale_feeds(STALE, "r1")) is True
    finally:
        server.close()
    [call] = server.received
    assert call["path"] == f"/hook/{HOOK_TOKEN}"
