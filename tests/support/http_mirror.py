"""A real HTTP server on 127.0.0.1 that serves a folder like a dataset mirror, with faults on demand.

It speaks plain HTTP/1.0 through `http.server.ThreadingHTTPServer` in a background thread, answers `Range`
requests (206 with Content-Range, 416 when the range starts past the end), and can be told, per file, to fail
its next requests with a status or to drop the connection part-way through a body. Every request is logged, so a
test can assert how many times a file was asked for and with which Range header.

    with HttpMirror(folder) as mirror:
        mirror.fail("imdb.npz", status=500, times=2)     # next two GETs of imdb.npz answer 500
        mirror.drop("imdb.npz", after_bytes=1000)        # the one after sends 1000 bytes, then hangs up
        fetch(IMDB_NPZ, mirror.base_url, raw_dir)
        assert mirror.count("imdb.npz") == 1
"""

from __future__ import annotations

import email.utils
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_CHUNK = 64 * 1024  # bytes written per send
_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class LoggedRequest:
    """One request the mirror answered."""

    method: str  # "GET" or "HEAD"
    name: str  # path below the served folder, e.g. "imdb.npz" or "jena/mpi_roof_2024a.csv"
    range: str | None  # the Range header as received, None when absent
    status: int  # status sent back
    sent: int  # body bytes written (fewer than announced when a drop fault fired)


@dataclass
class _Fault:
    remaining: int  # how many more requests this fault applies to
    status: int | None = None  # answer with this status and no file
    after_bytes: int | None = None  # send full headers, then this many body bytes, then close


class HttpMirror:
    """Serves `root` at `base_url` until `close()`; use as a context manager."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._faults: dict[str, list[_Fault]] = {}
        self._log: list[LoggedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # Handler threads are joined by server_close(), so close() leaves no thread behind.
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="http-mirror", daemon=True
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}/"
        self._closed = False

    # -- scripting faults -------------------------------------------------------------------------------------
    def fail(self, name: str, status: int = 500, times: int = 1) -> None:
        """Answer the next `times` requests for `name` with `status` (no body beyond a short text)."""
        self._add_fault(name, _Fault(remaining=times, status=status))

    def drop(self, name: str, after_bytes: int, times: int = 1) -> None:
        """On the next `times` requests for `name`, announce the full length, send `after_bytes`, then hang up."""
        self._add_fault(name, _Fault(remaining=times, after_bytes=after_bytes))

    def clear_faults(self) -> None:
        """Forget every fault not yet used."""
        with self._lock:
            self._faults.clear()

    def _add_fault(self, name: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(name, []).append(fault)

    def _take_fault(self, name: str) -> _Fault | None:
        """The fault that applies to this request, counting it as used."""
        with self._lock:
            queue = self._faults.get(name, [])
            while queue and queue[0].remaining <= 0:
                queue.pop(0)
            if not queue:
                return None
            queue[0].remaining -= 1
            return queue[0]

    # -- the request log ---------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_for(self, name: str) -> list[LoggedRequest]:
        """The requests answered for one file."""
        return [r for r in self.requests if r.name == name]

    def count(self, name: str | None = None) -> int:
        """How many requests were answered, for one file or in all."""
        return len(self.requests if name is None else self.requests_for(name))

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    # -- lifetime -------------------------------------------------------------------------------------------------
    def url(self, name: str) -> str:
        """The URL of one file on this mirror."""
        return self.base_url + urllib.parse.quote(name)

    def close(self) -> None:
        """Stop serving and join the server thread and every handler thread."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> HttpMirror:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _handler_for(mirror: HttpMirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers in keep-alive at close()
        timeout = 10  # seconds a silent client may hold a handler thread

        def do_GET(self) -> None:
            self._serve(body=True)

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass  # keep test output quiet; the request log is on the mirror

        def _serve(self, body: bool) -> None:
            name = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            range_header = self.headers.get("Range")
            fault = mirror._take_fault(name)
            if fault is not None and fault.status is not None:
                self._send_text(fault.status, f"scripted fault for {name}\n", body)
                mirror._record(LoggedRequest(self.command, name, range_header, fault.status, 0))
                return

            path = (mirror.root / name).resolve()
            if not name or not path.is_relative_to(mirror.root) or not path.is_file():
                self._send_text(HTTPStatus.NOT_FOUND, f"{name} not found\n", body)
                mirror._record(LoggedRequest(self.command, name, range_header, 404, 0))
                return

            data = path.read_bytes()
            size = len(data)
            start, end = 0, size - 1
            status = HTTPStatus.OK
            span = _parse_range(range_header, size)
            if span == "unsatisfiable":
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                mirror._record(LoggedRequest(self.command, name, range_header, 416, 0))
                return
            if span is not None:
                start, end = span
                status = HTTPStatus.PARTIAL_CONTENT

            payload = data[start : end + 1]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()

            sent = 0
            if body:
                limit = len(payload)
                if fault is not None and fault.after_bytes is not None:
                    limit = min(limit, fault.after_bytes)
                while sent < limit:
                    piece = payload[sent : min(sent + _CHUNK, limit)]
                    self.wfile.write(piece)
                    sent += len(piece)
                if fault is not None and fault.after_bytes is not None:
                    self._hang_up()
            mirror._record(LoggedRequest(self.command, name, range_header, int(status), sent))

        def _send_text(self, status: int, text: str, body: bool) -> None:
            encoded = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            if body:
                self.wfile.write(encoded)

        def _hang_up(self) -> None:
            """End the body here, short of the announced Content-Length: the client reads EOF."""
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)

    return Handler


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) byte of a single satisfiable range, "unsatisfiable", or None to send the whole file.

    Multiple ranges and malformed headers are ignored (RFC 9110 lets a server answer them with 200).
    """
    if not header:
        return None
    match = _SINGLE_RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, end
