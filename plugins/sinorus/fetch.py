"""HTTP fetching for feeds and pages: polite, bounded, conditional, and refusing internal hosts."""

from __future__ import annotations

import email.utils
import http.cookiejar
import ipaddress
import random
import re
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sinorus import settings
from sinorus.urls import host_of

K = TypeVar("K")

OUTCOMES = (
    "ok",
    "not_modified",
    "http_error",
    "timeout",
    "too_large",
    "refused",
    "network_error",
    "redirect_loop",
    "bad_content",
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
    "text/html;q=0.9, application/xhtml+xml;q=0.9, */*;q=0.8"
)
# Small reads, so the wall-clock deadline is checked often against a trickling server.
CHUNK = 16_384
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
# Ranges Python's ipaddress flags do not all cover (CGNAT is neither private nor global).
EXTRA_FORBIDDEN = (
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("198.18.0.0/15"),
    ipaddress.ip_network("240.0.0.0/4"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class FetchResult:
    """What one GET produced, success or not, with the cache validators for the next one."""

    url: str
    final_url: str
    outcome: str
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None
    max_age: int | None = None
    retry_after: float | None = None
    error: str | None = None
    elapsed_ms: int = 0
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def _env_float(name: str, default: float) -> float:
    raw = settings.env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def _env_int(name: str, default: int) -> int:
    raw = settings.env(name)
    if raw is None:
        return default
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


@dataclass(frozen=True)
class FetchConfig:
    """Limits and politeness for fetching; from_env() reads the SINORUS_FETCH_* settings."""

    user_agent: str = settings.USER_AGENT
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    retries: int = 2
    backoff: float = 0.5
    max_retry_after: float = 30.0
    max_workers: int = 64  # feeds wait on the network, not the CPU: 200 feeds need few rounds
    per_host: int = 2
    per_host_delay: float = 0.0
    allow: tuple[str, ...] = ()
    ca_bundle: str | None = None  # PEM file of extra trusted CAs (a proxy or an intranet CA)

    def __post_init__(self) -> None:
        for name in ("max_workers", "per_host"):
            if getattr(self, name) < 1:
                raise ValueError(f"FetchConfig.{name} must be at least 1")
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"FetchConfig.{name} must be positive")
        for name in ("max_bytes", "max_redirects", "retries", "backoff", "per_host_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"FetchConfig.{name} must not be negative")

    @classmethod
    def from_env(cls) -> FetchConfig:
        """The defaults, overridden by SINORUS_FETCH_* environment variables."""
        d = cls()
        allow = settings.env("SINORUS_FETCH_ALLOW") or ""
        return cls(
            user_agent=settings.env("SINORUS_USER_AGENT") or d.user_agent,
            connect_timeout=_env_float("SINORUS_FETCH_CONNECT_TIMEOUT", d.connect_timeout),
            read_timeout=_env_float("SINORUS_FETCH_READ_TIMEOUT", d.read_timeout),
            total_timeout=_env_float("SINORUS_FETCH_TIMEOUT", d.total_timeout),
            max_bytes=_env_int("SINORUS_FETCH_MAX_BYTES", d.max_bytes),
            max_redirects=_env_int("SINORUS_FETCH_MAX_REDIRECTS", d.max_redirects),
            retries=_env_int("SINORUS_FETCH_RETRIES", d.retries),
            backoff=_env_float("SINORUS_FETCH_BACKOFF", d.backoff),
            max_retry_after=_env_float("SINORUS_FETCH_MAX_RETRY_AFTER", d.max_retry_after),
            max_workers=_env_int("SINORUS_FETCH_WORKERS", d.max_workers),
            per_host=_env_int("SINORUS_FETCH_PER_HOST", d.per_host),
            per_host_delay=_env_float("SINORUS_FETCH_PER_HOST_DELAY", d.per_host_delay),
            allow=tuple(x.strip() for x in allow.split(",") if x.strip()),
            ca_bundle=settings.env("SINORUS_FETCH_CA_BUNDLE"),
        )


class Refused(Exception):
    """A connection the address policy forbids; not an OSError, so no layer retries it."""


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why an address must not be fetched from ("a private address"), or None when public."""
    if ip in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            if inner:
                return f"{inner} (IPv4 {embedded} inside IPv6)"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (any(ip in net for net in EXTRA_FORBIDDEN), "a reserved or shared (CGNAT) address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-global address"),
    )
    for flagged, reason in checks:
        if flagged:
            return reason
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None


class AddressPolicy:
    """Which addresses may be connected to: public ones, plus the operator's allow list."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.networks: list[IPNetwork] = []
        self.endpoints: set[tuple[str, int | None]] = set()
        for entry in allow:
            self._add(entry.strip())

    def _add(self, entry: str) -> None:
        if not entry:
            return
        try:
            self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            return
        except ValueError:
            pass
        host, sep, port_text = entry.rpartition(":")
        if not sep or (host.count(":") and not host.startswith("[")):
            host, port_text = entry, ""
        port: int | None = None
        if port_text:
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise ValueError(f"SINORUS_FETCH_ALLOW entry {entry!r}: bad port {port_text!r}")
            port = int(port_text)
        host = host.strip("[]").lower()
        if not host:
            raise ValueError(f"SINORUS_FETCH_ALLOW entry {entry!r}: no host")
        ip = _parse_ip(host)
        self.endpoints.add((str(ip) if ip else host, port))

    def allowed(self, host: str, port: int, ip: IPAddress) -> bool:
        """True when the operator listed this address, network, or host name and port."""
        if any(ip in net for net in self.networks if net.version == ip.version):
            return True
        names = {str(ip), host.strip("[]").lower()}
        return any((name, p) in self.endpoints for name in names for p in (port, None))

    def check(self, host: str, port: int, address: str) -> None:
        """Raise Refused unless connecting to this address for this host is permitted."""
        ip = _parse_ip(address)
        if ip is None:
            raise Refused(f"refused: {address!r} is not an IP address")
        if self.allowed(host, port, ip):
            return
        reason = forbidden_reason(ip)
        if reason:
            shown = f"{host} ({ip})" if host.strip("[]") != str(ip) else str(ip)
            raise Refused(f"refused: {shown} port {port} is {reason}; not in SINORUS_FETCH_ALLOW")

    def check_host(self, host: str, port: int) -> None:
        """Check every address a name resolves to before connecting to any of them."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return  # the real connect reports the resolution failure in its own words
        for info in infos:
            self.check(host, port, str(info[4][0]))


def _guarded_new_conn(conn: Any, policy: AddressPolicy, connect: Callable[[], Any]) -> Any:
    """Resolve and check, connect, then check the peer actually reached (DNS may change)."""
    host = str(conn._dns_host)
    policy.check_host(host, int(conn.port))
    sock = connect()
    try:
        peer = sock.getpeername()[0]
        policy.check(host, int(conn.port), str(peer))
    except BaseException:
        sock.close()
        raise
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    policy = AddressPolicy()

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = _guarded_new_conn(self, self.policy, super()._new_conn)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    policy = AddressPolicy()

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = _guarded_new_conn(self, self.policy, super()._new_conn)
        return sock


class _GuardedAdapter(HTTPAdapter):
    """An adapter whose connections check the address policy on every connect."""

    def __init__(self, policy: AddressPolicy, pool_size: int) -> None:
        http_conn = type("GuardedHTTP", (_GuardedHTTPConnection,), {"policy": policy})
        https_conn = type("GuardedHTTPS", (_GuardedHTTPSConnection,), {"policy": policy})
        self._pool_classes = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type(
                "GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}
            ),
        }
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


class _NoSharedCookies(http.cookiejar.DefaultCookiePolicy):
    """The session keeps no cookies: feeds must not see each other's; each GET keeps its own."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class _Inflater:
    """Decompresses gzip or deflate with bounded output per call, so a bomb cannot grow memory."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # 32+15 accepts a gzip or zlib header; deflate is zlib-wrapped or, from some servers, raw.
        self._wbits = 47 if encoding in ("gzip", "x-gzip") else 15
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False
        self.tail = b""

    def decompress(self, data: bytes, limit: int) -> bytes:
        data = self.tail + data
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error:
            if self._started or self._wbits != 15:
                raise
            self._wbits = -15
            self._obj = zlib.decompressobj(-15)
            out = self._obj.decompress(data, limit)
        self._started = self._started or bool(data)
        self.tail = self._obj.unconsumed_tail
        return out

    def flush(self) -> bytes:
        return self._obj.flush() if not self._obj.eof else b""


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([^\"';,\s]+)", content_type or "", re.IGNORECASE)
    return match.group(1).lower() if match else None


def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _retry_after(text: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date."""
    if not text:
        return None
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    when = _http_date(text)
    if when is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _max_age(headers: dict[str, str]) -> int | None:
    """Freshness lifetime from Cache-Control (max-age, s-maxage, no-cache) or Expires."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0
    for name in ("max-age", "s-maxage"):
        value = directives.get(name, "")
        if value.isdigit():
            return int(value)
    if "expires" in headers:
        expires = _http_date(headers["expires"])
        if expires is None:
            return 0  # RFC 9111: an invalid Expires, e.g. "0", means already stale
        now = _http_date(headers.get("date")) or datetime.now(UTC)
        return max(0, int((expires - now).total_seconds()))
    return None


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


class Fetcher:
    """One pooled session for all GETs of a run; thread-safe for get_many."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        self.config = config or FetchConfig.from_env()
        self.policy = AddressPolicy(self.config.allow)
        session = requests.Session()
        # Environment proxies would make the proxy the peer and defeat the address checks;
        # this also ignores REQUESTS_CA_BUNDLE, hence ca_bundle.
        session.trust_env = False
        session.verify = self.config.ca_bundle or True
        session.cookies.set_policy(_NoSharedCookies())
        adapter = _GuardedAdapter(self.policy, max(self.config.max_workers, 4))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session = session
        self._sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """GET with conditional headers, redirects checked hop by hop, and retries."""
        cfg = self.config
        started = time.monotonic()
        headers = {
            "User-Agent": cfg.user_agent,
            "Accept": accept or DEFAULT_ACCEPT,
            # Only what _Inflater decodes, so the byte cap always counts decoded bytes.
            "Accept-Encoding": "gzip, deflate",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempts = 0
        while True:
            attempts += 1
            try:
                result, retryable = self._attempt(url, headers)
            except Exception as exc:  # a bug or an unforeseen library error: record, not crash
                result = FetchResult(
                    url, url, "network_error", error=f"{type(exc).__name__}: {exc}"
                )
                retryable = False
            if not retryable or attempts > cfg.retries:
                break
            if result.retry_after is not None:
                if result.retry_after > cfg.max_retry_after:
                    break  # the caller reschedules from result.retry_after
                delay = result.retry_after
            else:
                delay = random.uniform(0, cfg.backoff * 2 ** (attempts - 1))  # noqa: S311
            self._sleep(min(delay, cfg.max_retry_after))
        if result.outcome == "http_error" and attempts > 1:
            result.error = f"HTTP {result.status} after {attempts} attempts"
        elif result.error and attempts > 1:
            result.error += f" (after {attempts} attempts)"
        result.attempts = attempts
        result.elapsed_ms = int((time.monotonic() - started) * 1000)
        return result

    def _attempt(self, url: str, headers: dict[str, str]) -> tuple[FetchResult, bool]:
        """One try: follow redirects by hand, read the body; (result, worth retrying)."""
        cfg = self.config
        deadline = time.monotonic() + cfg.total_timeout
        cookies = requests.cookies.RequestsCookieJar()
        current = url
        chain = [url]

        def fail(outcome: str, error: str, status: int | None = None) -> FetchResult:
            return FetchResult(url, current, outcome, status=status, error=error)

        while True:
            try:
                scheme = urlsplit(current).scheme.lower()
            except ValueError as exc:
                return fail("network_error", f"bad URL {current!r}: {exc}"), False
            if scheme not in ("http", "https"):
                return fail("refused", f"refused: {current!r} is not an http(s) URL"), False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return fail("timeout", f"timed out after {_seconds(cfg.total_timeout)}"), False
            try:
                resp = self._session.get(
                    current,
                    headers=headers,
                    cookies=cookies,
                    allow_redirects=False,
                    stream=True,
                    timeout=(min(cfg.connect_timeout, remaining), min(cfg.read_timeout, remaining)),
                )
            except Refused as exc:
                return fail("refused", str(exc)), False
            except requests.exceptions.ConnectTimeout:
                return fail(
                    "timeout", f"timed out after {_seconds(cfg.connect_timeout)} connecting"
                ), True
            except requests.exceptions.ReadTimeout:
                wait_s = min(cfg.read_timeout, remaining)
                return fail(
                    "timeout", f"timed out after {_seconds(wait_s)} waiting for the response"
                ), False
            except requests.exceptions.SSLError as exc:
                return fail("network_error", f"TLS error: {_short(exc)}"), False
            except requests.exceptions.ConnectionError as exc:
                return fail("network_error", f"connection failed: {_short(exc)}"), True
            except (requests.exceptions.RequestException, ValueError) as exc:
                return fail("network_error", f"bad request for {current!r}: {_short(exc)}"), False
            with resp:
                status = resp.status_code
                if status in REDIRECT_STATUSES and resp.headers.get("location"):
                    cookies.update(resp.cookies)
                    try:
                        target = urljoin(current, resp.headers["location"].strip())
                    except ValueError:
                        return fail("http_error", "bad Location header", status), False
                    if target in chain:
                        loop = " -> ".join([*chain[chain.index(target) :], target])
                        return fail("redirect_loop", f"redirect loop: {loop}", status), False
                    chain.append(target)
                    if len(chain) - 1 > cfg.max_redirects:
                        return fail(
                            "redirect_loop",
                            f"{len(chain) - 1} redirects (cap {cfg.max_redirects})",
                            status,
                        ), False
                    current = target
                    continue
                return self._finish(url, current, resp, deadline)

    def _finish(
        self, url: str, final_url: str, resp: requests.Response, deadline: float
    ) -> tuple[FetchResult, bool]:
        """Turn the last response into a result, reading the body only when it is wanted."""
        headers = {k.lower(): v for k, v in resp.headers.items()}
        status = resp.status_code
        result = FetchResult(
            url,
            final_url,
            "ok",
            status=status,
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            encoding=_charset(headers.get("content-type")),
            max_age=_max_age(headers),
            retry_after=_retry_after(headers.get("retry-after")),
        )
        if status == 304:
            result.outcome = "not_modified"
            return result, False
        if not 200 <= status < 300:
            result.outcome = "http_error"
            result.error = f"HTTP {status}" + (f" {resp.reason}" if resp.reason else "")
            return result, status in RETRY_STATUSES
        outcome, body, error = self._read_body(resp, headers, deadline)
        result.outcome, result.body, result.error = outcome, body, error
        return result, False

    def _read_body(
        self, resp: requests.Response, headers: dict[str, str], deadline: float
    ) -> tuple[str, bytes | None, str | None]:
        cfg = self.config
        cap = cfg.max_bytes
        over = f"body over the {cap:,}-byte cap"
        codings = [
            c.strip().lower()
            for c in headers.get("content-encoding", "").split(",")
            if c.strip() and c.strip().lower() != "identity"
        ]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            return "bad_content", None, f"unsupported Content-Encoding {', '.join(codings)}"
        inflater = _Inflater(codings[0]) if codings else None
        length = headers.get("content-length", "").strip()
        if inflater is None and length.isdigit() and int(length) > cap:
            return "too_large", None, f"{over} (Content-Length {int(length):,})"
        raw = resp.raw
        sock = getattr(getattr(raw, "_connection", None), "sock", None)
        body = bytearray()
        started = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return (
                    "timeout",
                    None,
                    f"timed out after {_seconds(cfg.total_timeout)} reading body",
                )
            if sock is not None:
                # A silent server ends at the deadline, not a full read timeout after it.
                sock.settimeout(min(cfg.read_timeout, remaining))
            try:
                chunk = raw.read1(CHUNK, decode_content=False)
            except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                waited = time.monotonic() - started
                return "timeout", None, f"timed out after {_seconds(waited)} reading body"
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                return "network_error", None, f"connection broken reading body: {_short(exc)}"
            if not chunk:
                break
            if inflater is None:
                body += chunk
            else:
                try:
                    data = chunk
                    while True:
                        body += inflater.decompress(data, cap - len(body) + 1)
                        data = b""
                        if len(body) > cap or not inflater.tail:
                            break
                except zlib.error as exc:
                    return "bad_content", None, f"body is not valid {inflater.encoding}: {exc}"
            if len(body) > cap:
                return "too_large", None, over
        if inflater is not None:
            try:
                body += inflater.flush()
            except zlib.error as exc:
                return "bad_content", None, f"body is not valid {inflater.encoding}: {exc}"
            if len(body) > cap:
                return "too_large", None, over
        # Read to the end, so the connection can go back to the pool for the next request.
        raw.release_conn()
        return "ok", bytes(body), None

    def get_many(
        self,
        urls: Iterable[tuple[K, str, dict[str, str | None]]],
        *,
        jitter: float = 0.0,
        accept: str | None = None,
    ) -> Iterator[tuple[K, FetchResult]]:
        """Fetch many URLs concurrently, at most per_host at once per host; yield as done."""
        cfg = self.config
        queues: dict[str, deque[tuple[K, str, dict[str, str | None]]]] = {}
        for item in urls:
            queues.setdefault(_host_key(item[1]), deque()).append(item)
        in_flight: dict[str, int] = dict.fromkeys(queues, 0)
        next_start: dict[str, float] = {}
        lock = threading.Lock()

        def run(host: str, url: str, validators: dict[str, str | None]) -> FetchResult:
            pause = random.uniform(0, jitter) if jitter > 0 else 0.0  # noqa: S311
            if cfg.per_host_delay > 0:
                with lock:
                    now = time.monotonic()
                    start = max(now + pause, next_start.get(host, 0.0))
                    next_start[host] = start + cfg.per_host_delay
                pause = start - now
            if pause > 0:
                self._sleep(pause)
            return self.get(
                url,
                etag=validators.get("etag"),
                last_modified=validators.get("last_modified"),
                accept=accept,
            )

        futures: dict[Future[FetchResult], tuple[str, K, str]] = {}
        pool = ThreadPoolExecutor(max_workers=cfg.max_workers, thread_name_prefix="fetch")
        try:
            while queues or futures:
                # Hand out work only to hosts with a free slot, so a slow host holds no worker
                # that another host's request could use.
                for host in list(queues):
                    queue = queues[host]
                    while (
                        queue and in_flight[host] < cfg.per_host and len(futures) < cfg.max_workers
                    ):
                        key, url, validators = queue.popleft()
                        futures[pool.submit(run, host, url, validators or {})] = (host, key, url)
                        in_flight[host] += 1
                    if not queue:
                        del queues[host]
                if not futures:
                    break
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    host, key, url = futures.pop(future)
                    in_flight[host] -= 1
                    try:
                        result = future.result()
                    except Exception as exc:  # get() records its own errors; this is a bug
                        result = FetchResult(url, url, "network_error", error=_short(exc))
                    yield key, result
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _host_key(url: str) -> str:
    """The politeness unit: the site's host, and its port when not the default."""
    try:
        port = urlsplit(url).port
    except ValueError:
        port = None
    host = host_of(url)
    return f"{host}:{port}" if port not in (None, 80, 443) else host


def _short(exc: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain."""
    text = str(exc)
    reason = getattr(exc, "reason", None) or (exc.args[0] if exc.args else None)
    while reason is not None and isinstance(reason, BaseException):
        text = str(reason)
        reason = getattr(reason, "reason", None)
    text = re.sub(r"<urllib3\.[^>]*>: ", "", text)
    return text[:300]
