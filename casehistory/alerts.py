"""Alerts to the data team: a failed task, a stale agency feed, a review whose chronologies are not ready.

The channel is a setting, so a deployment chooses it without code; the credentials and addresses
of the channel are an Airflow Connection, never a CASEHISTORY_* variable:

    CASEHISTORY_ALERT_CHANNEL   log (default) | webhook | email
    webhook: the Connection casehistory_alerts_webhook (type http; its host is the whole webhook
             URL, e.g. a Teams or Slack incoming webhook relay; login/password for basic auth;
             extra "timeout", default 10 s). Sent by the HTTP provider's HttpNotifier as a JSON POST
             {"kind", "subject", "text"}.
    email:   the Connection casehistory_alerts_smtp (type smtp: host, port, login, password; extra
             "from_email", "disable_ssl", "disable_tls", "timeout", "retry_limit") and the setting
             CASEHISTORY_ALERT_EMAIL_TO (comma-separated recipients). Sent by the SMTP provider's
             SmtpNotifier: the alert's subject, and its text as the body.

Connections come from Airflow's usual places, in its order: the secrets backend configured, an
AIRFLOW_CONN_<ID> environment variable (a URI or JSON), the metadata database (the UI, `airflow
connections add`). Outside a task (a script, a test) Airflow reads only the first two.
CASEHISTORY_ALERT_SMTP_CONN_ID / CASEHISTORY_ALERT_WEBHOOK_CONN_ID name other Connections.

Alert text names tasks, agencies (codes), counts and dates only: never a child, a file's contents
or an exception message (those can quote a row's values; they stay in the Airflow log, where access
is controlled). A channel that cannot be reached is logged as an error and never fails the run.
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from casehistory.freshness import FeedFreshness

log = logging.getLogger(__name__)

CHANNELS = ("log", "webhook", "email")
SMTP_CONN_ID = "casehistory_alerts_smtp"
WEBHOOK_CONN_ID = "casehistory_alerts_webhook"
WEBHOOK_TIMEOUT_SECONDS = 10  # when the Connection's extra sets no "timeout" (requests would wait for ever)
# Read before alerts went through Airflow's notifiers; credentials now live in a Connection only.
RETIRED = ("WEBHOOK_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "EMAIL_FROM", "TIMEOUT_SECONDS")

_masked: set[str] = set()  # secret parts of the webhook URL, never repeated in this module's log


class AlertConfigError(ValueError):
    """The alert channel is misconfigured (unknown channel, no recipients)."""


@dataclass(frozen=True)
class Alert:
    kind: str  # task_failed | stale_feed | review_not_ready
    subject: str
    text: str


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"CASEHISTORY_ALERT_{name}", default)


def channel() -> str:
    chosen = _env("CHANNEL", "log").strip().lower()
    if chosen not in CHANNELS:
        raise AlertConfigError(f"CASEHISTORY_ALERT_CHANNEL={chosen!r}: expected one of {', '.join(CHANNELS)}")
    return chosen


def smtp_conn_id() -> str:
    return _env("SMTP_CONN_ID").strip() or SMTP_CONN_ID


def webhook_conn_id() -> str:
    return _env("WEBHOOK_CONN_ID").strip() or WEBHOOK_CONN_ID


def recipients() -> list[str]:
    """CASEHISTORY_ALERT_EMAIL_TO: addresses separated by commas or semicolons."""
    return [a.strip() for a in _env("EMAIL_TO").replace(";", ",").split(",") if a.strip()]


def send(alert: Alert, context: dict[str, Any] | None = None) -> bool:
    """Deliver the alert on the configured channel; True when delivered. Always logged too.
    `context`: the task's Airflow context where there is one (a failure callback); the notifiers
    need none, so steps and scripts outside a task send with the default."""
    log.warning("ALERT %s: %s\n%s", alert.kind, alert.subject, alert.text)
    retired = [f"CASEHISTORY_ALERT_{name}" for name in RETIRED if _env(name)]
    if retired:
        log.warning("%s no longer read: alert credentials and addresses are in the Airflow Connections %s "
                    "and %s (README, Alerts); remove them from the environment",
                    ", ".join(retired), webhook_conn_id(), smtp_conn_id())
    try:
        chosen = channel()
        if chosen == "webhook":
            _webhook(alert, context or {})
        elif chosen == "email":
            _email(alert, context or {})
        return True
    except Exception as exc:  # an unreachable channel must not turn a finding into a failed run
        log.error("alert %r could not be delivered: %s: %s", alert.subject, type(exc).__name__, _redact(str(exc)))
        return False


def _redact(text: str) -> str:
    for secret in sorted(_masked, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _mask_webhook_url(url: str) -> None:
    """A webhook URL's path and query are its credential (Slack's and Teams' tokens are in them),
    and requests names them in its errors: mask them in Airflow's task logs and in ours."""
    from airflow.sdk.log import mask_secret

    parts = urlsplit(url if "://" in url else f"http://{url}")
    for secret in (parts.path if parts.path.strip("/") else "", parts.query):
        if secret:
            _masked.add(secret)
            mask_secret(secret)


def _webhook(alert: Alert, context: dict[str, Any]) -> None:
    """POST {"kind", "subject", "text"} through the HTTP provider's HttpNotifier; its hook raises
    on an unreachable URL and on a status of 400 or more."""
    from airflow.providers.http.notifications import HttpNotifier

    notifier = HttpNotifier(http_conn_id=webhook_conn_id(), method="POST",
                            json={"kind": alert.kind, "subject": alert.subject, "text": alert.text},
                            headers={"Content-Type": "application/json"})
    connection = notifier.hook.get_connection(notifier.http_conn_id)
    _mask_webhook_url(connection.host or "")
    if "://" not in (connection.host or "") and (connection.schema or "http") not in ("http", "https"):
        # `AIRFLOW_CONN_X=https://host/path` parses the path as the schema, which the hook takes for
        # the URL's scheme: say so rather than POST to "path://host"
        raise AlertConfigError(f"the Connection {notifier.http_conn_id} has a path in its schema field "
                               "(the HTTP hook's URL scheme): give the "
                               "whole webhook URL as its host (JSON: {\"conn_type\": \"http\", \"host\": \"https://...\"}, "
                               "or a URI with the URL percent-encoded: http://https%3A%2F%2F...)")
    if "timeout" not in connection.extra_dejson:
        notifier.extra_options = {"timeout": WEBHOOK_TIMEOUT_SECONDS}
    notifier.notify(context)


def _email(alert: Alert, context: dict[str, Any]) -> None:
    """Mail through the SMTP provider's SmtpNotifier: sender, server and login from the Connection,
    the alert's text as the (HTML, preformatted) body."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    to = recipients()
    if not to:
        raise AlertConfigError("CASEHISTORY_ALERT_CHANNEL=email needs CASEHISTORY_ALERT_EMAIL_TO "
                               f"(and the Airflow Connection {smtp_conn_id()})")
    # notify(), not the notifier's __call__: that renders Jinja in the fields, and alert text is not a template
    SmtpNotifier(to=to, subject=alert.subject, html_content=f"<pre>{html.escape(alert.text)}</pre>",
                 smtp_conn_id=smtp_conn_id()).notify(context)


def task_failed(dag_id: str, task_id: str, run_id: str, try_number: int | None,
                map_label: str | None = None, error_type: str | None = None) -> Alert:
    """A task failed for good (retries exhausted, or a failure that is never retried)."""
    where = f"{task_id}[{map_label}]" if map_label else task_id
    lines = [f"Task {where} of DAG {dag_id} failed in run {run_id}"
             + (f" (attempt {try_number})" if try_number else "") + ".",
             f"Error type: {error_type}." if error_type else "",
             "The reason is in the Airflow task log and in the run summary; the analyst warehouse is "
             "replaced only when the checks pass."]
    return Alert("task_failed", f"[casehistory] {dag_id}: {where} failed", "\n".join(l for l in lines if l))


def stale_feeds(stale: list[FeedFreshness], run_id: str) -> Alert:
    """`stale`: casehistory.freshness.stale_feeds(con, run_id), the feeds not fresh at this run."""
    lines = [f"{len(stale)} agency feed(s) not fresh at run {run_id}:"]
    for f in stale:
        if f.status == "not_checked":  # dbt could not check: its log says why (no data in it to quote)
            lines.append(f"  {f.agency}: not checked; {f.detail}")
            continue
        if f.last_received_at:
            last = f"last received {f.last_received_at:%Y-%m-%d %H:%M}"
            if f.hours_since_received is not None:
                last += f" ({f.hours_since_received / 24:.1f} days ago)"
        else:
            last = "nothing received yet"
        rules = ", ".join(r for r in (f.warn_after and f"warn after {f.warn_after}",
                                      f.error_after and f"error after {f.error_after}") if r)
        lines.append(f"  {f.agency}: {f.status}; {last}" + (f"; {rules}" if rules else ""))
    lines.append("Ask the agency whether an extract was sent; files in the drop folder are loaded every night. "
                 "Thresholds: dbt/models/staging/ledger/_agency_feeds__sources.yml; history: audit.agency_freshness.")
    return Alert("stale_feed", f"[casehistory] stale feed: {', '.join(f.agency for f in stale)}", "\n".join(lines))


def review_not_ready(lines: list[str], run_id: str) -> Alert:
    """Chronologies sent but unreadable, missing, late or partial for reviews due soon. `lines`:
    casehistory.readiness's alert lines (review, agency, status, counts, dates, and the names and
    reject reason codes of files that could not be read; no names of people or identifiers)."""
    reviews = sorted({line.split(" ", 2)[1] for line in lines if line.startswith("review ")})
    text = [f"{len(lines)} chronology gap(s) at run {run_id}:", *(f"  {line}" for line in lines),
            "Each review's report (whom to chase for what) is in the reports folder under reviews/."]
    return Alert("review_not_ready", f"[casehistory] review not ready: {', '.join(reviews) or 'see text'}",
                 "\n".join(text))


def send_review_readiness(lines: list[str], run_id: str) -> bool | None:
    """Alert the data team on review-readiness gaps (readiness.alert_lines), if any. None when there
    is nothing to say, else whether the alert was delivered."""
    return send(review_not_ready(lines, run_id)) if lines else None
