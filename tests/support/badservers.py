"""Misbehaving raw-socket servers on loopback: trickling, resetting, hanging, endless bodies."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator

ConnHandler = Callable[[socket.socket], None]


def read_request(conn: socket.socket) -> bytes:
    """Read up to the end of the request headers (our fetcher sends GETs without a body)."""
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class RawServer:
    """Accepts on 127.0.0.1 and hands every connection to a handler in its own thread."""

    def __init__(self, handler: ConnHandler) -> None:
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except OSError:
            pass  # the client gave up, which is what most of these servers provoke
        finally:
            conn.close()

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def trickle(interval: float, length: int = 100_000) -> ConnHandler:
    """Send headers, then one body byte every `interval` seconds."""

    def handler(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
        )
        for _ in range(length):
            conn.sendall(b"x")
            time.sleep(interval)

    return handler


def reset(conn: socket.socket) -> None:
    """Read the request, then abort the connection with a TCP reset."""
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def hang(stop: threading.Event) -> ConnHandler:
    """Accept and read the request, then never answer (until the server stops)."""

    def handler(conn: socket.socket) -> None:
        read_request(conn)
        stop.wait(60)

    return handler


def stream(
    body: Callable[[], Iterator[bytes]], headers: dict[str, str] | None = None
) -> ConnHandler:
    """Answer 200 with a body produced chunk by chunk and no Content-Length (ends at close)."""

    def handler(conn: socket.socket) -> None:
        read_request(conn)
        lines = ["HTTP/1.1 200 OK", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for chunk in body():
            conn.sendall(chunk)

    return handler


def gzip_zeros(total: int, block: int = 1 << 20) -> Iterator[bytes]:
    """`total` zero bytes gzipped, produced lazily so the server never holds them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(block)
    sent = 0
    while sent < total:
        n = min(block, total - sent)
        out = compressor.compress(zeros[:n])
        sent += n
        if out:
            yield out
    yield compressor.flush()
