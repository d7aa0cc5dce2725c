"""Serve the offline sample site on 127.0.0.1 with dates relative to the time it started."""

from __future__ import annotations

import email.utils
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import yaml

SITE_DIR = Path(__file__).resolve().parent / "site"
MANIFEST = SITE_DIR / "manifest.yaml"
EXPECTED = SITE_DIR / "expected.yaml"

MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
# Russian dates name the month in the genitive: "23 ноября".
MONTHS_RU_GENITIVE = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAYS_RU = ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"]
# "on Tuesday" in Russian: the preposition and the accusative case ("во вторник", "в среду").
ON_WEEKDAYS_RU = [
    "в понедельник",
    "во вторник",
    "в среду",
    "в четверг",
    "в пятницу",
    "в субботу",
    "в воскресенье",
]
WEEKDAYS_ZH = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]

PLACEHOLDER = re.compile(r"\{\{([A-Z][A-Z0-9_]*)(?::([+-]?\d+))?\}\}")


class SampleError(ValueError):
    """A template or the manifest cannot be rendered; the message names the file."""


def _formats() -> dict[str, Callable[[datetime], str]]:
    return {
        "RFC822": lambda t: email.utils.format_datetime(t, usegmt=True),
        "ISO": lambda t: t.isoformat(timespec="seconds"),
        "DATE": lambda t: t.date().isoformat(),
        "DATE_EN": lambda t: f"{t.day} {MONTHS_EN[t.month - 1]} {t.year}",
        "DATE_EN_US": lambda t: f"{MONTHS_EN[t.month - 1]} {t.day}, {t.year}",
        "DAY_EN": lambda t: f"{t.day} {MONTHS_EN[t.month - 1]}",
        "DATE_RU": lambda t: f"{t.day} {MONTHS_RU_GENITIVE[t.month - 1]} {t.year} года",
        "DAY_RU": lambda t: f"{t.day} {MONTHS_RU_GENITIVE[t.month - 1]}",
        "DATE_ZH": lambda t: f"{t.year}年{t.month}月{t.day}日",
        "DAY_ZH": lambda t: f"{t.month}月{t.day}日",
        "WEEKDAY_EN": lambda t: WEEKDAYS_EN[t.weekday()],
        "WEEKDAY_RU": lambda t: WEEKDAYS_RU[t.weekday()],
        "ON_WEEKDAY_RU": lambda t: ON_WEEKDAYS_RU[t.weekday()],
        "WEEKDAY_ZH": lambda t: WEEKDAYS_ZH[t.weekday()],
        "YEAR": lambda t: str(t.year),
    }


FORMATS = _formats()


def render(text: str, base: str, now: datetime) -> str:
    """Fill {{BASE}} and {{FORMAT:±days}} placeholders; unknown names raise SampleError."""

    def fill(match: re.Match[str]) -> str:
        name, offset = match.group(1), int(match.group(2) or 0)
        if name == "BASE":
            return base
        fmt = FORMATS.get(name)
        if fmt is None:
            raise SampleError(f"unknown placeholder {match.group(0)}")
        return fmt(now + timedelta(days=offset))

    return PLACEHOLDER.sub(fill, text)


@dataclass(frozen=True)
class Resource:
    """One URL path of the sample site: which file, served how."""

    path: str
    file: Path
    content_type: str
    charset: str  # the bytes on the wire are in this encoding
    declare_charset: bool  # False: the page declares it only in its own <meta>
    status: int


def _load_manifest() -> dict[str, Any]:
    doc = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise SampleError(f"{MANIFEST}: expected a mapping")
    return doc


def resources() -> dict[str, Resource]:
    """Every path the sample serves: each file under site/ plus the manifest's routes."""
    doc = _load_manifest()
    defaults: dict[str, dict[str, Any]] = doc.get("defaults") or {}
    found: dict[str, Resource] = {}

    def make(path: str, file: str, spec: dict[str, Any]) -> Resource:
        suffix = Path(file).suffix
        merged = {"status": 200, "declare_charset": True} | defaults.get(suffix, {}) | spec
        if "type" not in merged or "charset" not in merged:
            raise SampleError(f"{MANIFEST}: no content type or charset for {path}")
        return Resource(
            path=path,
            file=SITE_DIR / file,
            content_type=str(merged["type"]),
            charset=str(merged["charset"]),
            declare_charset=bool(merged["declare_charset"]),
            status=int(merged["status"]),
        )

    served_dirs = tuple(str(d) for d in doc.get("served") or [])
    for found_file in sorted(SITE_DIR.rglob("*")):
        rel = found_file.relative_to(SITE_DIR).as_posix()
        if found_file.is_file() and rel.startswith(served_dirs):
            found["/" + rel] = make("/" + rel, rel, {})
    for path, spec in (doc.get("routes") or {}).items():
        spec = dict(spec or {})
        file = str(spec.pop("file", path.lstrip("/")))
        found[path] = make(path, file, spec)
    return found


def feed_list(base: str) -> list[dict[str, Any]]:
    """The sample's feeds as entries of a feed list (same format as data/feeds.yaml)."""
    feeds: list[dict[str, Any]] = []
    for item in _load_manifest().get("feeds") or []:
        feeds.append(
            {
                "name": item["name"],
                "url": base + item["path"],
                "lang": item["lang"],
                "tags": ["sample", *item.get("tags", [])],
            }
        )
    return feeds


def write_feeds_file(path: str | Path, base: str) -> Path:
    """Write a feed list naming the sample feeds at `base` (e.g. http://127.0.0.1:8765)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = {"feeds": feed_list(base.rstrip("/"))}
    header = f"# The offline sample's feeds, served by `python -m sinorus.sample` at {base}\n"
    target.write_text(
        header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return target


def expected(base: str, now: datetime) -> dict[str, Any]:
    """What the pipeline should find in the sample, with URLs and dates filled in."""
    text = render(EXPECTED.read_text(encoding="utf-8"), base.rstrip("/"), _utc(now))
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise SampleError(f"{EXPECTED}: expected a mapping")
    return doc


def _utc(now: datetime) -> datetime:
    # A naive datetime is taken as UTC so feeds and pages agree on the calendar day.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


class SampleServer:
    """A threaded HTTP server on 127.0.0.1 serving the sample site until stopped."""

    def __init__(self, port: int = 0, now: datetime | None = None) -> None:
        self.now = _utc(now or datetime.now(UTC)).replace(microsecond=0)
        self.resources = resources()
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[bytes, str]] = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self.httpd.daemon_threads = True
        self.port: int = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.last_modified = email.utils.format_datetime(self.now, usegmt=True)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="sinorus-sample", daemon=True
        )

    def url(self, path: str) -> str:
        return self.base + path

    def body(self, path: str) -> tuple[bytes, str]:
        """The bytes served at `path` and their ETag, rendered once per server."""
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None:
            return cached
        res = self.resources[path]
        text = render(res.file.read_text(encoding="utf-8"), self.base, self.now)
        try:
            data = text.encode(res.charset)
        except UnicodeEncodeError as exc:
            raise SampleError(f"{res.file}: not encodable as {res.charset}: {exc}") from exc
        etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        with self._lock:
            self._cache[path] = (data, etag)
        return data, etag

    def start(self) -> SampleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SampleServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _handler_for(sample: SampleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "SinorusSample/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            path = urlsplit(self.path).path
            with sample._lock:
                sample.hits[path] = sample.hits.get(path, 0) + 1
            res = sample.resources.get(path) or sample.resources.get("/404")
            try:
                if res is None:
                    raise SampleError("no /404 route in the manifest")
                data, etag = sample.body(res.path)
            except (OSError, SampleError) as exc:
                self._send(500, b"sample error: " + str(exc).encode(), {}, send_body)
                return
            status = res.status if res.path == path else 404
            ctype = res.content_type
            if res.declare_charset:
                ctype += f"; charset={res.charset}"
            headers = {"Content-Type": ctype}
            if status == 200:
                headers |= {"ETag": etag, "Last-Modified": sample.last_modified}
                if self._not_modified(etag):
                    self._send(304, b"", headers, send_body=False)
                    return
            self._send(status, data, headers, send_body)

        def _not_modified(self, etag: str) -> bool:
            match = self.headers.get("If-None-Match")
            if match is not None:
                # If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
                tags = {t.strip().removeprefix("W/") for t in match.split(",")}
                return etag in tags or "*" in tags
            since = self.headers.get("If-Modified-Since")
            if since is None:
                return False
            try:
                when = email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
            return when.tzinfo is not None and when >= sample.now

        def _send(self, status: int, data: bytes, headers: dict[str, str], send_body: bool) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(0 if status == 304 else len(data)))
            self.end_headers()
            if send_body and status != 304:
                self.wfile.write(data)

    return Handler


def serve(port: int = 0, now: datetime | None = None) -> SampleServer:
    """Start the sample server in a background thread; stop it with .stop() or `with`."""
    return SampleServer(port, now).start()
