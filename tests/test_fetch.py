"""The fetcher against real servers on 127.0.0.1: limits, retries, redirects, refusals."""

from __future__ import annotations

import datetime
import email.utils
import gzip
import ipaddress
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sinorus.fetch import AddressPolicy, FetchConfig, Fetcher, forbidden_reason
from tests.support import badservers
from tests.support.servers import LocalServer, Reply, Request, local_server


def config_for(*ports: int, **overrides: object) -> FetchConfig:
    """A config that may reach exactly these loopback ports, with quick retries."""
    base: dict[str, object] = {
        "allow": tuple(f"127.0.0.1:{p}" for p in ports),
        "backoff": 0.01,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "total_timeout": 10.0,
    }
    base.update(overrides)
    return FetchConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
def fetcher(server: LocalServer) -> Iterator[Fetcher]:
    f = Fetcher(config_for(server.port))
    try:
        yield f
    finally:
        f.close()


# --- plain responses -------------------------------------------------------------------------


def test_ok_returns_body_and_cache_headers(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/feed"] = Reply(
        200,
        "Новости".encode("cp1251"),
        {
            "Content-Type": "application/rss+xml; charset=windows-1251",
            "ETag": '"v1"',
            "Last-Modified": "Tue, 24 Nov 2026 10:00:00 GMT",
            "Cache-Control": "public, max-age=300",
        },
    )
    result = fetcher.get(server.url("/feed"))
    assert result.ok and result.outcome == "ok"
    assert result.status == 200
    assert result.body == "Новости".encode("cp1251")
    assert result.etag == '"v1"'
    assert result.last_modified == "Tue, 24 Nov 2026 10:00:00 GMT"
    assert result.encoding == "windows-1251"
    assert result.max_age == 300
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.final_url == result.url == server.url("/feed")
    assert result.attempts == 1 and result.error is None
    sent = server.requests[0].headers
    assert sent["user-agent"].startswith("sinorus-watch/")
    assert sent["accept-encoding"] == "gzip, deflate"


def test_accept_header_is_passed(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/p"] = Reply(200, b"x")
    fetcher.get(server.url("/p"), accept="text/html")
    assert server.requests[0].headers["accept"] == "text/html"


def test_expires_gives_max_age(server: LocalServer, fetcher: Fetcher) -> None:
    # The test server stamps its own Date; Expires is ten minutes after that moment.
    server.routes["/e"] = lambda req: Reply(
        200, b"x", {"Expires": email.utils.formatdate(time.time() + 600, usegmt=True)}
    )
    server.routes["/bad"] = Reply(200, b"x", {"Expires": "0"})
    assert 598 <= (fetcher.get(server.url("/e")).max_age or 0) <= 600
    assert fetcher.get(server.url("/bad")).max_age == 0


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_body_is_decoded(server: LocalServer, fetcher: Fetcher, encoding: str) -> None:
    text = ("<rss>" + "китайско-российское сотрудничество " * 200 + "</rss>").encode()
    if encoding == "gzip":
        packed = gzip.compress(text)
    elif encoding == "deflate":
        packed = zlib.compress(text)
    else:
        squeezer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = squeezer.compress(text) + squeezer.flush()
    header = "gzip" if encoding == "gzip" else "deflate"
    server.routes["/z"] = Reply(200, packed, {"Content-Encoding": header})
    result = fetcher.get(server.url("/z"))
    assert result.ok, result.error
    assert result.body == text


def test_corrupt_gzip_is_bad_content(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/z"] = Reply(
        200, b"\x1f\x8b\x08\x00garbage-not-deflate", {"Content-Encoding": "gzip"}
    )
    result = fetcher.get(server.url("/z"))
    assert result.outcome == "bad_content"
    assert result.body is None
    assert "gzip" in (result.error or "")


def test_unknown_content_encoding_is_bad_content(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/br"] = Reply(200, b"\x00\x01", {"Content-Encoding": "br"})
    result = fetcher.get(server.url("/br"))
    assert result.outcome == "bad_content"
    assert "br" in (result.error or "")


# --- conditional GET -------------------------------------------------------------------------


def test_if_none_match_gives_not_modified(server: LocalServer, fetcher: Fetcher) -> None:
    def handler(req: Request) -> Reply:
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        return Reply(200, b"full", {"ETag": '"v1"'})

    server.routes["/feed"] = handler
    result = fetcher.get(server.url("/feed"), etag='"v1"')
    assert result.outcome == "not_modified"
    assert result.status == 304
    assert result.body is None
    assert not result.ok
    assert server.requests[0].headers["if-none-match"] == '"v1"'
    assert fetcher.get(server.url("/feed"), etag='"v0"').body == b"full"


def test_if_modified_since_gives_not_modified(server: LocalServer, fetcher: Fetcher) -> None:
    stamp = "Tue, 24 Nov 2026 10:00:00 GMT"

    def handler(req: Request) -> Reply:
        if req.headers.get("if-modified-since") == stamp:
            return Reply(304, b"")
        return Reply(200, b"full", {"Last-Modified": stamp})

    server.routes["/feed"] = handler
    first = fetcher.get(server.url("/feed"))
    assert first.ok and first.last_modified == stamp
    again = fetcher.get(server.url("/feed"), last_modified=first.last_modified)
    assert again.outcome == "not_modified" and again.body is None
    assert "if-modified-since" not in server.requests[0].headers
    assert server.requests[1].headers["if-modified-since"] == stamp


# --- HTTP errors and retries -----------------------------------------------------------------


@pytest.mark.parametrize(("status", "attempts"), [(404, 1), (410, 1), (403, 1), (500, 3)])
def test_http_errors(server: LocalServer, fetcher: Fetcher, status: int, attempts: int) -> None:
    server.routes["/x"] = Reply(status, b"error page")
    result = fetcher.get(server.url("/x"))
    assert result.outcome == "http_error"
    assert result.status == status
    assert result.body is None
    assert result.attempts == attempts == server.hits("/x")
    assert str(status) in (result.error or "")


def test_503_twice_then_ok(server: LocalServer, fetcher: Fetcher) -> None:
    answers = iter([Reply(503, b"busy"), Reply(503, b"busy"), Reply(200, b"at last")])
    server.routes["/flaky"] = lambda req: next(answers)
    result = fetcher.get(server.url("/flaky"))
    assert result.ok
    assert result.body == b"at last"
    assert result.attempts == 3


def test_503_every_time_reports_attempts(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/down"] = Reply(503, b"busy")
    result = fetcher.get(server.url("/down"))
    assert result.outcome == "http_error"
    assert result.error == "HTTP 503 after 3 attempts"
    assert server.hits("/down") == 3


def test_429_retry_after_is_honoured(server: LocalServer, fetcher: Fetcher) -> None:
    seen: list[float] = []

    def handler(req: Request) -> Reply:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Reply(429, b"slow down", {"Retry-After": "1"})
        return Reply(200, b"ok")

    server.routes["/limited"] = handler
    result = fetcher.get(server.url("/limited"))
    assert result.ok and result.attempts == 2
    # The server's own clocks: the second request came after the second it asked for.
    assert seen[1] - seen[0] >= 0.95


def test_retry_after_beyond_cap_is_not_slept(server: LocalServer) -> None:
    server.routes["/limited"] = Reply(503, b"maintenance", {"Retry-After": "3600"})
    with Fetcher(config_for(server.port, max_retry_after=5.0)) as f:
        result = f.get(server.url("/limited"))
    assert result.outcome == "http_error"
    assert result.retry_after == 3600.0
    assert result.attempts == 1 and server.hits("/limited") == 1


def test_retry_after_http_date(server: LocalServer) -> None:
    server.routes["/x"] = Reply(429, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    with Fetcher(config_for(server.port, retries=0)) as f:
        result = f.get(server.url("/x"))
    assert result.retry_after == 0.0  # a date in the past means "now"


# --- redirects -------------------------------------------------------------------------------


def test_redirect_chain_sets_final_url(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/old"] = Reply(301, b"", {"Location": "/mid?x=1"})
    server.routes["/mid"] = Reply(302, b"", {"Location": server.url("/new")})
    server.routes["/new"] = Reply(200, b"article", {"ETag": '"n"'})
    result = fetcher.get(server.url("/old"), etag='"n0"')
    assert result.ok
    assert result.body == b"article"
    assert result.final_url == server.url("/new")
    assert result.url == server.url("/old")
    assert [r.path for r in server.requests] == ["/old", "/mid?x=1", "/new"]


def test_redirect_loop(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/a"] = Reply(302, b"", {"Location": "/b"})
    server.routes["/b"] = Reply(302, b"", {"Location": "/a"})
    result = fetcher.get(server.url("/a"))
    assert result.outcome == "redirect_loop"
    assert "loop" in (result.error or "")
    assert server.hits("/a") == 1 and server.hits("/b") == 1


def test_too_many_redirects(server: LocalServer, fetcher: Fetcher) -> None:
    for i in range(10):
        server.routes[f"/r{i}"] = Reply(302, b"", {"Location": f"/r{i + 1}"})
    server.routes["/r10"] = Reply(200, b"never")
    result = fetcher.get(server.url("/r0"))
    assert result.outcome == "redirect_loop"
    assert result.error == "6 redirects (cap 5)"
    assert server.hits("/r6") == 0


def test_redirect_to_other_scheme_is_refused(server: LocalServer, fetcher: Fetcher) -> None:
    server.routes["/a"] = Reply(302, b"", {"Location": "file:///etc/passwd"})
    result = fetcher.get(server.url("/a"))
    assert result.outcome == "refused"


def test_cookies_follow_redirects_but_not_other_requests(
    server: LocalServer, fetcher: Fetcher
) -> None:
    server.routes["/consent"] = Reply(
        302, b"", {"Location": "/page", "Set-Cookie": "consent=yes; Path=/"}
    )
    server.routes["/page"] = Reply(200, b"page")
    assert fetcher.get(server.url("/consent")).ok
    assert server.requests[1].headers.get("cookie") == "consent=yes"
    assert fetcher.get(server.url("/page")).ok
    assert "cookie" not in server.requests[2].headers


# --- byte cap --------------------------------------------------------------------------------


def test_body_over_cap_with_content_length(server: LocalServer) -> None:
    server.routes["/big"] = Reply(200, b"x" * 5000)
    with Fetcher(config_for(server.port, max_bytes=1000)) as f:
        result = f.get(server.url("/big"))
    assert result.outcome == "too_large"
    assert result.body is None
    assert result.error is not None and "1,000-byte cap" in result.error


def test_body_at_cap_is_ok(server: LocalServer) -> None:
    server.routes["/exact"] = Reply(200, b"x" * 1000)
    with Fetcher(config_for(server.port, max_bytes=1000)) as f:
        assert f.get(server.url("/exact")).body == b"x" * 1000


def test_body_over_cap_without_length() -> None:
    def endless() -> Iterator[bytes]:
        for _ in range(10_000):
            yield b"y" * 10_000

    with (
        badservers.RawServer(badservers.stream(endless)) as srv,
        Fetcher(config_for(srv.port, max_bytes=200_000)) as f,
    ):
        result = f.get(srv.url())
    assert result.outcome == "too_large"
    assert result.error == "body over the 200,000-byte cap"


def test_gzip_bomb_is_capped_without_big_memory() -> None:
    gigabyte = 1 << 30
    headers = {"Content-Encoding": "gzip", "Content-Type": "text/html"}
    with (
        badservers.RawServer(
            badservers.stream(lambda: badservers.gzip_zeros(gigabyte), headers)
        ) as srv,
        Fetcher(config_for(srv.port)) as f,
    ):
        tracemalloc.start()
        try:
            result = f.get(srv.url())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.outcome == "too_large"
    assert result.body is None
    assert result.error == "body over the 5,000,000-byte cap"
    # The cap plus small buffers, nowhere near the gigabyte the server would have sent.
    assert peak < 40_000_000


# --- timeouts and broken connections ---------------------------------------------------------


def test_trickling_server_times_out() -> None:
    # The socket read timeout never fires (a byte every 0.05 s); only the deadline can.
    with (
        badservers.RawServer(badservers.trickle(0.05)) as srv,
        Fetcher(config_for(srv.port, read_timeout=5.0, total_timeout=1.0)) as f,
    ):
        result = f.get(srv.url())
    assert result.outcome == "timeout"
    assert result.body is None
    assert result.error is not None and "reading body" in result.error
    assert result.attempts == 1


def test_silent_server_times_out() -> None:
    stop = threading.Event()
    with badservers.RawServer(badservers.hang(stop)) as srv:
        with Fetcher(config_for(srv.port, read_timeout=0.5)) as f:
            result = f.get(srv.url())
        stop.set()
    assert result.outcome == "timeout"
    assert result.status is None
    assert "timed out" in (result.error or "")


def test_connection_reset_is_network_error() -> None:
    with badservers.RawServer(badservers.reset) as srv:
        with Fetcher(config_for(srv.port)) as f:
            result = f.get(srv.url())
        connections = srv.connections
    assert result.outcome == "network_error"
    assert result.error
    assert result.attempts == 3
    assert connections == 3


def test_closed_port_is_network_error() -> None:
    probe = badservers.RawServer(badservers.reset)
    port = probe.port
    probe.sock.close()  # nothing listens there any more
    with Fetcher(config_for(port, retries=1)) as f:
        result = f.get(f"http://127.0.0.1:{port}/")
    assert result.outcome == "network_error"
    assert result.attempts == 2
    assert "connection failed" in (result.error or "")


def test_garbage_url_is_recorded_not_raised() -> None:
    with Fetcher(FetchConfig()) as f:
        for url in ["", "not a url", "http://", "http://[::1/", "mailto:a@b.c"]:
            result = f.get(url)
            assert result.outcome in ("refused", "network_error"), url
            assert result.error


# --- SSRF guard ------------------------------------------------------------------------------


def test_loopback_not_allowed_is_refused(server: LocalServer) -> None:
    server.routes["/"] = Reply(200, b"secret")
    with Fetcher(FetchConfig()) as f:
        result = f.get(server.url("/"))
        by_name = f.get(f"http://localhost:{server.port}/")
    assert result.outcome == "refused"
    assert result.error == (
        f"refused: 127.0.0.1 port {server.port} is a loopback address; not in SINORUS_FETCH_ALLOW"
    )
    assert by_name.outcome == "refused"
    assert "localhost" in (by_name.error or "")
    assert server.requests == []


def test_other_loopback_port_stays_refused(server: LocalServer) -> None:
    with local_server() as other:
        other.routes["/"] = Reply(200, b"secret")
        with Fetcher(config_for(server.port)) as f:
            result = f.get(other.url("/"))
        assert result.outcome == "refused"
        assert other.requests == []


def test_redirect_to_forbidden_port_is_refused(server: LocalServer, fetcher: Fetcher) -> None:
    with local_server() as internal:
        internal.routes["/admin"] = Reply(200, b"secret")
        server.routes["/go"] = Reply(302, b"", {"Location": internal.url("/admin")})
        result = fetcher.get(server.url("/go"))
        assert result.outcome == "refused"
        assert result.final_url == internal.url("/admin")
        assert internal.requests == []
        assert server.hits("/go") == 1


def test_cidr_allow(server: LocalServer) -> None:
    server.routes["/"] = Reply(200, b"fine")
    with Fetcher(FetchConfig(allow=("127.0.0.0/8",))) as f:
        assert f.get(server.url("/")).body == b"fine"
    with Fetcher(FetchConfig(allow=("10.0.0.0/8",))) as f:
        assert f.get(server.url("/")).outcome == "refused"


def test_allow_by_host_name(server: LocalServer) -> None:
    server.routes["/"] = Reply(200, b"fine")
    with Fetcher(FetchConfig(allow=(f"localhost:{server.port}",))) as f:
        assert f.get(f"http://localhost:{server.port}/").ok
        assert f.get(server.url("/")).outcome == "refused"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::5",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::a00:1",
        "ff02::1",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2a00:1450:4001:81c::200e"])
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_metadata_reason_is_named() -> None:
    assert forbidden_reason(ipaddress.ip_address("169.254.169.254")) == (
        "the cloud metadata address"
    )


@pytest.mark.parametrize("entry", ["127.0.0.1:notaport", "127.0.0.1:70000", ":80"])
def test_bad_allow_entry_is_a_clear_error(entry: str) -> None:
    with pytest.raises(ValueError, match="SINORUS_FETCH_ALLOW"):
        AddressPolicy([entry])


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINORUS_FETCH_ALLOW", "127.0.0.1:8765, 10.0.0.0/8")
    monkeypatch.setenv("SINORUS_FETCH_TIMEOUT", "12.5")
    monkeypatch.setenv("SINORUS_FETCH_MAX_BYTES", "1_000_000")
    cfg = FetchConfig.from_env()
    assert cfg.allow == ("127.0.0.1:8765", "10.0.0.0/8")
    assert cfg.total_timeout == 12.5
    assert cfg.max_bytes == 1_000_000
    assert cfg.read_timeout == FetchConfig().read_timeout
    monkeypatch.setenv("SINORUS_FETCH_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="SINORUS_FETCH_TIMEOUT"):
        FetchConfig.from_env()
    monkeypatch.setenv("SINORUS_FETCH_TIMEOUT", "5")
    monkeypatch.setenv("SINORUS_FETCH_PER_HOST", "0")
    with pytest.raises(ValueError, match="per_host"):
        FetchConfig.from_env()


# --- many at once ----------------------------------------------------------------------------


class ConcurrencyCounter:
    """A handler that counts requests in flight on its server."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, req: Request) -> Reply:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(self.hold)
        with self.lock:
            self.now -= 1
        return Reply(200, req.path.encode())


def test_get_many_respects_per_host_and_returns_all() -> None:
    servers = [LocalServer().start() for _ in range(4)]
    counters = [ConcurrencyCounter(0.05) for _ in servers]
    try:
        for srv, counter in zip(servers, counters, strict=True):
            srv.routes["/item"] = counter
        jobs = [
            ((s, i), servers[s].url(f"/item?i={i}"), {"etag": None, "last_modified": None})
            for i in range(10)
            for s in range(4)
        ]
        config = config_for(*(s.port for s in servers), per_host=2, max_workers=16)
        with Fetcher(config) as f:
            results = dict(f.get_many(jobs, jitter=0.05))
    finally:
        for srv in servers:
            srv.stop()
    assert len(results) == 40
    assert all(r.ok for r in results.values())
    assert results[(2, 7)].body == b"/item?i=7"
    assert all(c.peak <= 2 for c in counters), [c.peak for c in counters]
    # Two at a time did happen: the limit bounds concurrency, it does not serialise.
    assert max(c.peak for c in counters) == 2


def test_slow_host_does_not_hold_back_others() -> None:
    release = threading.Event()

    def slow(req: Request) -> Reply:
        release.wait(20)
        return Reply(200, b"slow")

    with local_server() as slow_srv, local_server() as fast_srv:
        slow_srv.routes["/s"] = slow
        fast_srv.routes["/f"] = Reply(200, b"fast")
        jobs = [(f"slow{i}", slow_srv.url(f"/s?{i}"), {}) for i in range(3)]
        jobs += [(f"fast{i}", fast_srv.url(f"/f?{i}"), {}) for i in range(10)]
        order: list[str] = []
        config = config_for(slow_srv.port, fast_srv.port, per_host=2, max_workers=4)
        with Fetcher(config) as f:
            for key, result in f.get_many(jobs):  # type: ignore[arg-type]
                assert result.ok
                order.append(key)
                if sum(k.startswith("fast") for k in order) == 10:
                    release.set()
        release.set()
    assert len(order) == 13
    assert all(k.startswith("fast") for k in order[:10])


def test_per_host_delay_spaces_requests(server: LocalServer) -> None:
    seen: list[float] = []

    def handler(req: Request) -> Reply:
        seen.append(time.monotonic())
        return Reply(200, b"x")

    server.routes["/d"] = handler
    jobs = [(i, server.url(f"/d?{i}"), {}) for i in range(4)]
    begun = time.monotonic()
    with Fetcher(config_for(server.port, per_host=4, per_host_delay=0.3)) as f:
        assert len(list(f.get_many(jobs))) == 4  # type: ignore[arg-type]
    # Four slots allowed all at once; the delay alone made the k-th wait k * 0.3 s.
    seen.sort()
    assert all(at - begun >= 0.3 * k for k, at in enumerate(seen))


# --- HTTPS -----------------------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sinorus test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[LocalServer, Path]]:
    cert, key = _self_signed(tmp_path)
    srv = LocalServer()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    srv.httpd.socket = context.wrap_socket(srv.httpd.socket, server_side=True)
    srv.start()
    try:
        yield srv, cert
    finally:
        srv.stop()


def test_https_with_trusted_ca(tls_server: tuple[LocalServer, Path]) -> None:
    srv, cert = tls_server
    srv.routes["/secure"] = Reply(200, b"over tls")
    with Fetcher(config_for(srv.port, ca_bundle=str(cert))) as f:
        result = f.get(f"https://127.0.0.1:{srv.port}/secure")
    assert result.ok, result.error
    assert result.body == b"over tls"


def test_https_untrusted_certificate_is_network_error(
    tls_server: tuple[LocalServer, Path],
) -> None:
    srv, _ = tls_server
    srv.routes["/secure"] = Reply(200, b"over tls")
    with Fetcher(config_for(srv.port)) as f:
        result = f.get(f"https://127.0.0.1:{srv.port}/secure")
    assert result.outcome == "network_error"
    assert "TLS" in (result.error or "")
    assert result.attempts == 1
    assert srv.requests == []


def test_https_loopback_not_allowed_is_refused(tls_server: tuple[LocalServer, Path]) -> None:
    srv, cert = tls_server
    with Fetcher(FetchConfig(ca_bundle=str(cert))) as f:
        result = f.get(f"https://localhost:{srv.port}/")
    assert result.outcome == "refused"
    assert srv.requests == []
