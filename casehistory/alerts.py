"""Alerts to the data team: a failed task, a stale agency feed, a review whose chronologies are not ready.

The channel comes from the environment, so a deployment chooses it without code:

    CASEHISTORY_ALERT_CHANNEL   log (default) | webhook | email
    webhook: CASEHISTORY_ALERT_WEBHOOK_URL (POSTed JSON {"subject", "text", "kind"}, e.g. a Teams or
             Slack incoming webhook relay)
    email:   CASEHISTORY_ALERT_SMTP_HOST, CASEHISTORY_ALERT_SMTP_PORT (25), CASEHISTORY_ALERT_EMAIL_FROM,
             CASEHISTORY_ALERT_EMAIL_TO (comma-separated), optional CASEHISTORY_ALERT_SMTP_USER and
             CASEHISTORY_ALERT_SMTP_PASSWORD (STARTTLS is used when a user is given)

Alert text names tasks, agencies (codes), counts and dates only: never a child, a file's contents
or an exception message (those can quote a row's values; they stay in the Airflow log, where access
is controlled). A channel that cannot be reached is logged as an error and never fails the run.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

from casehistory.freshness import FeedFreshness

log = logging.getLogger(__name__)

CHANNELS = ("log", "webhook", "email")


class AlertConfigError(ValueError):
    """The alert channel is misconfigured (unknown channel, missing URL or address)."""


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


def send(alert: Alert) -> bool:
    """Deliver the alert on the configured channel; True when delivered. Always logged too."""
    log.warning("ALERT %s: %s\n%s", alert.kind, alert.subject, alert.text)
    try:
        chosen = channel()
        if chosen == "webhook":
            _webhook(alert)
        elif chosen == "email":
            _email(alert)
        return True
    except Exception as exc:  # an unreachable channel must not turn a finding into a failed run
        log.error("alert %r could not be delivered: %s: %s", alert.subject, type(exc).__name__, exc)
        return False


def _webhook(alert: Alert) -> None:
    url = _env("WEBHOOK_URL")
    if not url:
        raise AlertConfigError("CASEHISTORY_ALERT_CHANNEL=webhook needs CASEHISTORY_ALERT_WEBHOOK_URL")
    body = json.dumps({"kind": alert.kind, "subject": alert.subject, "text": alert.text}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=float(_env("TIMEOUT_SECONDS", "10"))) as response:
        if response.status >= 300:
            raise OSError(f"webhook answered HTTP {response.status}")


def _email(alert: Alert) -> None:
    host, sender, to = _env("SMTP_HOST"), _env("EMAIL_FROM"), [a.strip() for a in _env("EMAIL_TO").split(",") if a.strip()]
    if not (host and sender and to):
        raise AlertConfigError("CASEHISTORY_ALERT_CHANNEL=email needs CASEHISTORY_ALERT_SMTP_HOST, "
                               "CASEHISTORY_ALERT_EMAIL_FROM and CASEHISTORY_ALERT_EMAIL_TO")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = alert.subject, sender, ", ".join(to)
    message.set_content(alert.text)
    with smtplib.SMTP(host, int(_env("SMTP_PORT", "25")), timeout=float(_env("TIMEOUT_SECONDS", "10"))) as smtp:
        if _env("SMTP_USER"):
            smtp.starttls()
            smtp.login(_env("SMTP_USER"), _env("SMTP_PASSWORD"))
        smtp.send_message(message)


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
