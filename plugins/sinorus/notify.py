"""Tell operators when a DAG task fails, through the Slack and SMTP connections that exist."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sinorus import settings

log = logging.getLogger(__name__)

SLACK_CONN_ID = "sinorus_slack"
SMTP_CONN_ID = "sinorus_smtp"
ERROR_CHARS = 1500

Notifier = Callable[[Any], None]


def default_args(execution_timeout: timedelta, **overrides: Any) -> dict[str, Any]:
    """Task defaults every sinorus DAG shares: retries with back-off, failure notices."""
    return {
        "owner": "sinorus",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,  # a multiplier in Airflow 3.3, not a switch
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": execution_timeout,
        "on_failure_callback": on_failure,
    } | overrides


def connection_configured(conn_id: str) -> bool:
    """True when Airflow can resolve the connection (env AIRFLOW_CONN_*, secrets or the DB)."""
    if settings.env(f"AIRFLOW_CONN_{conn_id.upper()}"):
        return True
    try:
        from airflow.sdk import BaseHook

        BaseHook.get_connection(conn_id)
    except Exception:  # any lookup failure means operators did not set it up
        return False
    return True


def operator_recipients() -> list[str]:
    """Who gets failure mail: SINORUS_OPS_RECIPIENTS, else the alert recipients."""
    raw = settings.env("SINORUS_OPS_RECIPIENTS") or settings.env("SINORUS_ALERT_RECIPIENTS") or ""
    return [r.strip() for r in raw.replace(";", ",").split(",") if r.strip()]


def failure_summary(context: Mapping[str, Any]) -> dict[str, str]:
    """DAG, task, run, try, error and log link of a failed task, as plain strings."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None) or "?"
    task_id = getattr(ti, "task_id", None) or "(run)"
    map_index = getattr(ti, "map_index", -1)
    if isinstance(map_index, int) and map_index >= 0:
        task_id = f"{task_id}[{map_index}]"
    run_id = str(context.get("run_id") or getattr(dag_run, "run_id", None) or "?")
    error = context.get("exception") or context.get("reason") or "no error recorded"
    error_text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
    try:
        log_url = str(getattr(ti, "log_url", "") or "")
    except Exception:  # building the URL needs config that a bare context may lack
        log_url = ""
    return {
        "dag_id": str(dag_id),
        "task_id": str(task_id),
        "run_id": run_id,
        "try_number": str(getattr(ti, "try_number", "?")),
        "error": str(error_text)[:ERROR_CHARS],
        "log_url": log_url,
    }


def _jinja_literal(text: str) -> str:
    # Notifiers render their fields as Jinja; an error message may contain "{{".
    return "{% raw %}" + text.replace("{% endraw %}", "{ % endraw % }") + "{% endraw %}"


def slack_text(info: Mapping[str, str]) -> str:
    lines = [
        f":red_circle: sinorus-watch task failed: *{info['dag_id']}.{info['task_id']}*",
        f"run `{info['run_id']}`, try {info['try_number']}",
        f"```{info['error']}```",
    ]
    if info["log_url"]:
        lines.append(f"<{info['log_url']}|Task log>")
    return "\n".join(lines)


def email_subject(info: Mapping[str, str]) -> str:
    return f"[sinorus-watch] task failed: {info['dag_id']}.{info['task_id']}"


def email_html(info: Mapping[str, str]) -> str:
    e = {k: html.escape(v) for k, v in info.items()}
    link = f'<p><a href="{e["log_url"]}">Task log</a></p>' if info["log_url"] else ""
    return (
        f"<p>Task <b>{e['dag_id']}.{e['task_id']}</b> failed "
        f"(run {e['run_id']}, try {e['try_number']}).</p>"
        f"<pre>{e['error']}</pre>{link}"
    )


def failure_notifiers(context: Mapping[str, Any]) -> list[Notifier]:
    """Notifiers for the connections that are configured; empty when none is."""
    info = failure_summary(context)
    notifiers: list[Notifier] = []
    if connection_configured(SLACK_CONN_ID):
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        notifiers.append(
            SlackWebhookNotifier(
                slack_webhook_conn_id=SLACK_CONN_ID,
                text=_jinja_literal(slack_text(info)),
                timeout=10,
                retry_handlers=[],
            )
        )
    recipients = operator_recipients()
    if recipients and connection_configured(SMTP_CONN_ID):
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        notifiers.append(
            SmtpNotifier(
                to=recipients,
                from_email=settings.env("SINORUS_ALERT_SENDER"),
                subject=_jinja_literal(email_subject(info)),
                html_content=_jinja_literal(email_html(info)),
                smtp_conn_id=SMTP_CONN_ID,
            )
        )
    return notifiers


def on_failure(context: Any) -> None:
    """Task on_failure_callback: notify every configured channel; a broken one never raises."""
    info = failure_summary(context)
    log.error(
        "task failed: %s.%s run %s: %s",
        info["dag_id"],
        info["task_id"],
        info["run_id"],
        info["error"],
    )
    for notifier in failure_notifiers(context):
        try:
            notifier(context)
        except Exception:
            # The task has already failed; a notifier that is down must not mask that.
            log.exception("failure notification through %s failed", type(notifier).__name__)
