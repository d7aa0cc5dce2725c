"""Security through the whole path: SSRF refused, hostile text escaped in alerts, SQL built
only from constants, secrets kept out of logs, return values and stored errors."""

from __future__ import annotations

import ast
import email
import email.policy
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

import tests.airflow_env  # noqa: F401  (Airflow hooks read connections from env vars)
from sinorus import events, ingest, pipeline
from sinorus.alerts import channels as ch
from sinorus.alerts import outbox
from sinorus.settings import PACKAGE_DIR
from tests.reliability.support import (
    NOW,
    add_feeds,
    fetcher_for,
    free_port,
    query,
    record,
    rss,
)
from tests.support.servers import LocalServer, Reply
from tests.test_alerts import enqueue, meeting, stored_event

pytestmark = pytest.mark.integration


# SSRF -------------------------------------------------------------------------------------


def test_ssrf_links_in_a_feed_are_never_requested_and_fall_back_to_the_summary(
    db, server: LocalServer
) -> None:
    inner = LocalServer().start()  # an "internal" service on a port nobody allowed
    try:
        inner.routes["/admin"] = Reply(200, b"<html>internal secrets</html>")
        server.routes["/redirect-inside"] = Reply(302, b"", {"Location": inner.url("/admin")})
        targets = {
            "other-port": inner.url("/admin"),
            "localhost-name": f"http://localhost:{inner.port}/admin",
            "mapped-v6": f"http://[::ffff:127.0.0.1]:{inner.port}/admin",
            "hex-ip": f"http://0x7f000001:{inner.port}/admin",
            "decimal-ip": f"http://2130706433:{inner.port}/admin",
            "short-ip": f"http://127.1:{inner.port}/admin",
            "v6-loopback": f"http://[::1]:{inner.port}/admin",
            "userinfo": f"http://user:pw@127.0.0.1:{inner.port}/admin",
            "trailing-dot": f"http://localhost.:{inner.port}/admin",
            "metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "private-10": "http://10.0.0.1/admin",
            "private-192": "http://192.168.1.1/",
            "cgnat": "http://100.64.0.1/",
            "redirect": server.url("/redirect-inside"),
        }
        # A distinct query per entry: canonical URLs of several targets would coincide.
        items = [(k, f"{url}?case={k}", f"Entry {k}", NOW) for k, url in targets.items()]
        server.routes["/feed.xml"] = Reply(200, rss(items), {"Content-Type": "application/xml"})
        from sinorus import feeds

        spec = feeds.FeedSpec("Allowed feed", server.url("/feed.xml"), "en")
        blocked_feed = feeds.FeedSpec("Inner feed", inner.url("/admin"), "en")
        ids = add_feeds(db, [spec, blocked_feed])
        with fetcher_for(server.port) as fetcher:
            summary = ingest.fetch_feeds(db, ids, run_id="ssrf", fetcher=fetcher)
            extracted = ingest.extract_pending(db, fetcher=fetcher)
        assert inner.requests == [], [r.path for r in inner.requests]
    finally:
        inner.stop()
    assert summary.ok == 1 and summary.failed == 1
    feed_rows = dict(query(db, "SELECT name, last_status FROM feeds"))
    assert feed_rows == {"Allowed feed": "ok", "Inner feed": "refused"}
    [(log_error,)] = query(db, "SELECT error FROM fetch_log WHERE status = 'refused'")
    assert "refused" in log_error and "SINORUS_FETCH_ALLOW" in log_error
    rows = query(
        db, "SELECT guid, extraction_status, extraction_error, body FROM articles ORDER BY guid"
    )
    assert {r[0] for r in rows} == set(targets)
    for guid, status, error, body in rows:
        assert status == "summary", (guid, status, error)
        assert "refused" in (error or ""), (guid, error)
        assert body and "internal secrets" not in body
    assert extracted.statuses == {"summary": len(targets)}
    blocked = len(targets) + 1
    print(f"\nSSRF: {blocked} attempts blocked (feed entries, a redirect, a feed), 0 requests")
    record(ssrf_blocked=blocked, bad_inputs=blocked)


# Escaping end to end ----------------------------------------------------------------------

SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def hostile_page() -> bytes:
    # "!" ends a sentence for the detector, so <!channel> comes last in the evidence.
    lead = (
        f"Chinese Foreign Minister Wang Yi {SCRIPT} held talks with Russian Foreign Minister "
        "Sergey Lavrov in Beijing on Monday &amp; &lt;@U123&gt; &lt;!channel&gt; and more."
    )
    filler = [
        "Officials said further contacts between the ministries would follow soon.",
        "The talks covered trade, energy supplies and transport links across the border.",
        "Both sides also discussed preparations for the next summit of their leaders.",
        "Observers noted the ministers have met several times over the past year.",
    ]
    paragraphs = f"<p>{lead}</p>" + "".join(f"<p>{f} {f}</p>" for f in filler)
    return (
        "<html><head><meta charset='utf-8'><title>Wang Yi meets Lavrov &lt;script&gt;"
        f"</title></head><body><article><h1>Talks</h1>{paragraphs}</article></body></html>"
    ).encode()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


def test_hostile_feed_text_reaches_every_alert_channel_escaped(
    db, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sinorus import feeds

    server.routes["/talks.html"] = Reply(200, hostile_page(), {"Content-Type": "text/html"})
    title = "Wang Yi meets Lavrov &amp;lt;script&amp;gt;alert(2)&amp;lt;/script&amp;gt; &amp;amp;"
    server.routes["/feed.xml"] = Reply(
        200,
        rss([("t1", server.url("/talks.html"), "placeholder", NOW)]).replace(
            b"placeholder", title.encode()
        ),
        {"Content-Type": "application/xml"},
    )
    server.routes["/hook"] = Reply(200, b"ok")
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SLACK",
        json.dumps({"conn_type": "slackwebhook", "password": server.url("/hook")}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": controller.port,
                "extra": {"disable_ssl": True, "disable_tls": True, "retry_limit": 0},
            }
        ),
    )
    monkeypatch.setenv("SINORUS_ALERT_RECIPIENTS", "analyst@sinorus.test")
    monkeypatch.setenv("SINORUS_CONSOLE_ALERTS", "1")
    try:
        ids = add_feeds(db, [feeds.FeedSpec("Hostile", server.url("/feed.xml"), "en")])
        with fetcher_for(server.port) as fetcher:
            ingest.fetch_feeds(db, ids, run_id="escape", fetcher=fetcher)
            ingest.extract_pending(db, fetcher=fetcher)
        [(body,)] = query(db, "SELECT body FROM articles")
        assert "<script>" in body and "<!channel>" in body  # stored as the text it is
        detected = events.detect_pending(db)
        assert detected.alerts_queued >= 3 and detected.alerts_queued % 3 == 0, detected
        console = io.StringIO()
        sent = outbox.send_pending(
            db, [ch.SlackChannel(), ch.EmailChannel(), ch.ConsoleChannel(stream=console)]
        )
    finally:
        controller.stop()
    assert sent.sent == detected.alerts_queued, sent.as_dict()
    per_channel = detected.alerts_queued // 3

    hooks = [r for r in server.requests if r.path == "/hook"]
    assert len(hooks) == per_channel
    payloads = [json.dumps(json.loads(r.body), ensure_ascii=False) for r in hooks]
    for text in payloads:
        assert "<!" not in text and "<@U123>" not in text and "<script>" not in text
    # The hostile text is there, as inert text.
    assert any("&lt;script&gt;" in t and "&lt;@U123&gt;" in t for t in payloads), payloads
    assert len(mailbox.messages) == per_channel
    for message in mailbox.messages:
        html_part = message.get_body(("html",))
        assert html_part is not None
        assert "<script>" not in html_part.get_content()
    assert any("&lt;script&gt;" in m.get_body(("html",)).get_content() for m in mailbox.messages)  # type: ignore[union-attr]
    assert "Wang Yi" in console.getvalue()
    record(bad_inputs=3)


# SQL only with parameters -----------------------------------------------------------------

SQL_CALLS = {"execute", "executemany", "execute_values", "execute_batch", "mogrify"}
# Variables that may be spliced into SQL text, each for a stated reason.
ALLOWED_NAMES = {
    # store.log_fetch: the column list is a literal in the function, never from input.
    ("store.py", "columns"),
    ("store.py", "c"),
}
# Calls whose text is SQL from our own files.
ALLOWED_CALLS = {("db.py", "read_text")}


def _constant_names(tree: ast.Module) -> set[str]:
    """Module-level names bound once to string constants (SQL fragments, queries)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    names.add(target.id)
    return names


def _unsafe_parts(node: ast.AST, file: str, constants: set[str]) -> list[str]:
    """The parts of a SQL argument that are neither literals nor allowed names."""
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.Name):
        ok = node.id in constants or (file, node.id) in ALLOWED_NAMES
        return [] if ok else [node.id]
    if isinstance(node, ast.JoinedStr):
        return [p for v in node.values for p in _unsafe_parts(v, file, constants)]
    if isinstance(node, ast.FormattedValue):
        return _unsafe_parts(node.value, file, constants)
    if isinstance(node, ast.BinOp):
        return _unsafe_parts(node.left, file, constants) + _unsafe_parts(
            node.right, file, constants
        )
    if isinstance(node, ast.Starred):
        return _unsafe_parts(node.value, file, constants)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return []  # a count of placeholders, not text
    if isinstance(node, ast.List | ast.Tuple):
        return [p for e in node.elts for p in _unsafe_parts(e, file, constants)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if (file, node.func.attr) in ALLOWED_CALLS:
            return []
        if node.func.attr == "join":  # ", ".join(parts): the parts decide
            return [p for a in node.args for p in _unsafe_parts(a, file, constants)]
    if isinstance(node, ast.ListComp | ast.GeneratorExp):
        inner = _unsafe_parts(node.elt, file, constants)
        for gen in node.generators:
            inner += _unsafe_parts(gen.iter, file, constants)
        bound = {
            n.id for gen in node.generators for n in ast.walk(gen.target) if isinstance(n, ast.Name)
        }
        return [p for p in inner if p not in bound]
    return [ast.unparse(node)]


def _sql_arg(node: ast.Call) -> ast.expr | None:
    """The SQL text argument of a database call, or None when the call is not one."""
    name = node.func.attr if isinstance(node.func, ast.Attribute) else None
    if isinstance(node.func, ast.Name):
        name = node.func.id
    if name not in SQL_CALLS:
        return None
    # execute_values(cur, sql, rows): the SQL is the second argument.
    position = 1 if name in ("execute_values", "execute_batch") else 0
    if len(node.args) > position:
        return node.args[position]
    return next((k.value for k in node.keywords if k.arg in ("sql", "query")), None)


def sql_findings(root: Path) -> tuple[int, list[str]]:
    """(calls checked, findings) over every module of the package.

    A helper that passes one of its parameters to execute() (queries._fetch(conn, sql, ...))
    is checked at its call sites instead: there the argument must be constant."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(root.rglob("*.py"))}
    checked, findings = 0, []
    helpers: dict[str, int] = {}  # function name -> index of its SQL parameter
    sites: list[tuple[Path, set[str], ast.Call, ast.expr]] = []
    sites_of_helpers: list[tuple[Path, set[str], ast.Call]] = []
    for path, tree in trees.items():
        constants = _constant_names(tree)
        seen: set[int] = set()
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for func in [*functions, tree]:
            params = [a.arg for a in func.args.args] if isinstance(func, ast.FunctionDef) else []
            for node in ast.walk(func):
                if not isinstance(node, ast.Call) or id(node) in seen:
                    continue
                sql = _sql_arg(node)
                if sql is None:
                    continue
                seen.add(id(node))
                if isinstance(sql, ast.Name) and sql.id in params:
                    assert isinstance(func, ast.FunctionDef)
                    helpers[func.name] = params.index(sql.id)
                    continue
                sites.append((path, constants, node, sql))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                sites_of_helpers.append((path, constants, node))
    for path, constants, node in sites_of_helpers:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Name):
            name = node.func.id
        if name in helpers and len(node.args) > helpers[name]:
            sites.append((path, constants, node, node.args[helpers[name]]))
    for path, constants, node, sql in sites:
        checked += 1
        for part in _unsafe_parts(sql, path.name, constants):
            where = f"{path.relative_to(root)}:{node.lineno}"
            findings.append(f"{where}: SQL text built from {part!r}")
    return checked, findings


def test_sql_is_built_only_from_constants() -> None:
    checked, findings = sql_findings(PACKAGE_DIR)
    assert checked > 30  # the check sees the package's queries
    assert findings == [], "\n".join(findings)


def test_the_sql_check_catches_interpolated_values(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "def f(cur, name, n):\n"
        "    cur.execute(f\"SELECT * FROM t WHERE name = '{name}'\")\n"
        "    cur.execute('SELECT * FROM t WHERE n = %s' % n)\n"
        "    cur.execute('SELECT * FROM t WHERE n = {}'.format(n))\n"
        "    cur.execute('SELECT * FROM t WHERE n = ' + str(n))\n"
        "    cur.execute('SELECT * FROM t WHERE n = %s', (n,))\n"
    )
    checked, findings = sql_findings(tmp_path)
    assert checked == 5
    assert len(findings) == 4, findings


# Secrets ----------------------------------------------------------------------------------

TOKEN = "xoxTESTs3cr3tT0KENq7"
SMTP_PASSWORD = "smtp-Pa55w0rd-zq9"


@pytest.mark.parametrize("webhook", ["answers-200", "answers-500", "port-closed"])
def test_secrets_stay_out_of_logs_results_and_stored_errors(
    db,
    server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    webhook: str,
) -> None:
    path = f"/services/T0/B0/{TOKEN}"
    server.routes[path] = Reply(200 if webhook == "answers-200" else 500, b"no_service")
    base = server.base if webhook.startswith("answers") else f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SLACK",
        json.dumps({"conn_type": "slackwebhook", "password": base + path}),
    )
    # A mail server that is not there, with a password the client would have used.
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": free_port(),
                "login": "alerts",
                "password": SMTP_PASSWORD,
                "extra": {"disable_ssl": True, "disable_tls": True, "retry_limit": 0},
            }
        ),
    )
    monkeypatch.setenv("SINORUS_ALERT_RECIPIENTS", "analyst@sinorus.test")
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["slack", "email"])
    caplog.set_level(logging.DEBUG)
    result = pipeline.send_alerts()
    slack_ok = webhook == "answers-200"
    assert (result["sent"], result["retry"]) == ((1, 1) if slack_ok else (0, 2)), result
    stored = query(db, "SELECT channel, last_error FROM alerts ORDER BY channel")
    assert [bool(e) for _, e in stored] == [True, not slack_ok]  # email, slack
    if webhook.startswith("answers"):
        assert [r.path for r in server.requests] == [path]  # the secret URL was really used
    captured = capfd.readouterr()
    seen = {
        "logs": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "result": json.dumps(result, default=str),
        "alerts.last_error": json.dumps(stored),
    }
    for place, text in seen.items():
        for secret in (TOKEN, SMTP_PASSWORD):
            assert secret not in text, f"{secret} leaked into {place}: {text[-600:]}"
    record(bad_inputs=1)
