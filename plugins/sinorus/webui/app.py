"""The sinorus pages as a FastAPI app, mounted by the Airflow plugin under /sinorus."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from sinorus import chart, queries
from sinorus import db as sdb
from sinorus.webui import pages

log = logging.getLogger(__name__)

DEFAULT_WEEKS = 26
MAX_WEEKS = 520
# The events page's chart counts every event its filters select in the chart's weeks, not only
# the table's first page; past this many it starts at the oldest week it read in full.
CHART_LIMIT = 20_000
FILTERED_TITLE = f"{chart.TITLE} matching the filters"
# Pages run no script at all, so a feed's <script> could not run even if escaping failed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _day(event: Mapping[str, Any]) -> dt.date:
    """The day the events query filters and sorts an event by: its date, else first seen."""
    day: dt.date = event["event_date"] or event["first_seen"].date()
    return day


class Unavailable(RuntimeError):
    """The database cannot be reached or is not configured."""


def _base(request: Request) -> str:
    """Where the app is mounted (/sinorus under Airflow), so links work under any prefix."""
    return str(request.scope.get("root_path") or "").rstrip("/")


def _weeks(value: str | None) -> int:
    if value is None or not value.strip():
        return DEFAULT_WEEKS
    try:
        weeks = int(value)
    except ValueError:
        raise queries.FilterError(f"weeks must be a whole number, not {value!r}") from None
    if not 1 <= weeks <= MAX_WEEKS:
        raise queries.FilterError(f"weeks must be between 1 and {MAX_WEEKS}")
    return weeks


def create_app(auth: bool = True, database_url: str | None = None) -> FastAPI:
    """The pages; auth=True lets in only users the Airflow auth manager accepts."""
    dependencies: list[Any] = []
    if auth:
        # Imported here: it pulls in Airflow's API models, which only the api-server needs.
        from airflow.api_fastapi.core_api.security import get_user

        dependencies.append(Depends(get_user))
    app = FastAPI(
        title="sinorus-watch",
        dependencies=dependencies,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @contextmanager
    def reading() -> Iterator[psycopg2.extensions.connection]:
        try:
            conn = queries.connect_readonly(database_url)
        except (psycopg2.Error, sdb.ConfigError) as exc:
            log.warning("sinorus pages: database unavailable: %s", exc)
            raise Unavailable(str(exc).strip()) from exc
        try:
            yield conn
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.UndefinedFunction) as exc:
            log.warning("sinorus pages: schema missing: %s", exc)
            raise Unavailable(
                "the database has no sinorus schema yet; run `sinorus migrate`"
            ) from exc
        except psycopg2.Error as exc:
            log.warning("sinorus pages: query failed: %s", exc)
            raise Unavailable(str(exc).strip()) from exc
        finally:
            conn.close()

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = pages.render(template, base=_base(request), **context)
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> HTMLResponse:
        return page(
            request,
            "message",
            503,
            title="Database unavailable",
            message=f"The sinorus database cannot be read: {exc}",
        )

    def chart_range(since: dt.date | None, until: dt.date | None) -> tuple[dt.date, dt.date]:
        end = until or dt.date.today()
        start = since or end - dt.timedelta(weeks=DEFAULT_WEEKS - 1)
        if (end - start).days > MAX_WEEKS * 7:
            start = end - dt.timedelta(weeks=MAX_WEEKS - 1)
        return (start, end) if start <= end else (end, end)

    def filtered_chart(conn: psycopg2.extensions.connection, flt: queries.EventFilter) -> str:
        """The timeline of the events flt selects: the table's query, bounded to the chart."""
        start, end = chart_range(flt.since, flt.until)
        within = replace(
            flt,
            since=max(start, flt.since or start),
            until=min(end, flt.until or end),
            limit=CHART_LIMIT,
        )
        events = queries.list_events(conn, within)
        if len(events) >= CHART_LIMIT:
            # Newest first: the oldest week read may lack events, so the chart starts after it.
            after = chart.week_start(_day(events[-1])) + dt.timedelta(weeks=1)
            start = max(start, min(after, chart.week_start(end)))
        counts = chart.tally((_day(e), e["type"]) for e in events)
        title = chart.TITLE if flt == queries.EventFilter() else FILTERED_TITLE
        return chart.timeline_svg(counts, start, end, title=title)

    @app.get("/", response_class=HTMLResponse)
    def events_page(
        request: Request,
        type: str | None = None,
        level: str | None = None,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        q: str | None = None,
    ) -> HTMLResponse:
        error, code = None, 200
        try:
            flt = queries.EventFilter(
                since=queries.parse_date(since),
                until=queries.parse_date(until),
                type=type or None,
                level=level or None,
                status=status or None,
                text=(q or "").strip() or None,
            ).check()
        except queries.FilterError as exc:
            error, code = str(exc), 400
            flt = queries.EventFilter()
        if error is None:
            with reading() as conn:
                events = queries.list_events(conn, flt)
                svg = filtered_chart(conn, flt)
        else:
            start, end = chart_range(None, None)
            events, svg = [], chart.timeline_svg([], start, end, title=FILTERED_TITLE)
        shown = {"type": type, "level": level, "status": status, "since": since, "until": until}
        return page(
            request,
            "events",
            code,
            title="China–Russia events",
            error=error,
            events=events,
            f={**shown, "text": q},
            limit=flt.limit,
            chart=pages.trusted(svg),
            types=queries.TYPES,
            levels=queries.LEVELS,
            statuses=queries.STATUSES,
        )

    @app.get("/events/{event_id}", response_class=HTMLResponse)
    def event_page(request: Request, event_id: int) -> HTMLResponse:
        with reading() as conn:
            event = queries.get_event(conn, event_id)
        if event is None:
            return page(
                request, "message", 404, title="No such event", message=f"No event {event_id}."
            )
        title = event.get("headline") or f"Event {event_id}"
        return page(request, "event", title=title, e=event)

    def timeline_data(weeks: int) -> tuple[dt.date, dt.date, list[tuple[dt.date, str, int]]]:
        end = dt.date.today()
        start = chart.week_start(end) - dt.timedelta(weeks=weeks - 1)
        with reading() as conn:
            return start, end, queries.weekly_counts(conn, start, end)

    @app.get("/timeline", response_class=HTMLResponse)
    def timeline_page(request: Request, weeks: str | None = None) -> HTMLResponse:
        try:
            n = _weeks(weeks)
        except queries.FilterError as exc:
            return page(request, "message", 400, title="Timeline", message=str(exc))
        start, end, counts = timeline_data(n)
        svg = chart.timeline_svg(counts, start, end)
        return page(
            request,
            "timeline",
            title="Events per week",
            weeks=n,
            counts=sorted(counts, reverse=True),
            chart=pages.trusted(svg),
        )

    @app.get("/timeline.svg")
    def timeline_svg(weeks: str | None = None) -> Response:
        try:
            n = _weeks(weeks)
        except queries.FilterError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain")
        start, end, counts = timeline_data(n)
        return Response(chart.timeline_svg(counts, start, end), media_type="image/svg+xml")

    @app.get("/timeline.png")
    def timeline_png(weeks: str | None = None) -> Response:
        try:
            n = _weeks(weeks)
        except queries.FilterError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain")
        start, end, counts = timeline_data(n)
        return Response(chart.timeline_png(counts, start, end), media_type="image/png")

    @app.get("/feeds", response_class=HTMLResponse)
    def feeds_page(request: Request) -> HTMLResponse:
        with reading() as conn:
            feeds = queries.feed_health(conn)
        return page(request, "feeds", title="Feed health", feeds=feeds)

    return app
