"""A preview server for editions: static files with byte ranges, confined to one folder.

Python's `http.server` ignores `Range`, so a browser cannot seek in the MP3 and
the page's chapter buttons seem dead; this one answers `Range` with 206 (or 416),
sends the content types the outputs need (text/vtt, application/json+chapters,
audio/mp4 for .m4b), and serves nothing outside its folder: `..`, encoded or not,
and symbolic links that lead out are refused. It binds to 127.0.0.1 unless told
otherwise, and each request runs in its own thread.
"""

from __future__ import annotations

import email.utils
import errno
import functools
import ipaddress
import os
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from jinja2 import Environment, PackageLoader

from .errors import OutputError, UsageError
from .library import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
INDEX = "index.html"
CHUNK = 64 * 1024
SOCKET_TIMEOUT = 30

# Web files; the outputs name the media types of their own files (publish.media_types).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xhtml": "application/xhtml+xml",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".zip": "application/zip",
    ".opf": "application/oebps-package+xml",
    ".ncx": "application/x-dtbncx+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Byte positions longer than this are beyond any file (and Python refuses to read
# integers of thousands of digits).
_MAX_DIGITS = 18
_BEYOND = 10 ** _MAX_DIGITS
# The page and its files come only from this server; no page may frame it.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# The folder listing carries its own small style sheet.
LISTING_POLICY = CONTENT_SECURITY_POLICY + "; style-src 'self' 'unsafe-inline'"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
# Made on request for the server's own address, when the folder is a library of editions.
GENERATED = ("index.html", "feed.xml", "catalog.xml")

Log = Callable[[str], None]


@functools.lru_cache(maxsize=1)
def _media_types() -> dict[str, str]:
    from . import publish
    from .library import MEDIA_TYPES

    return {**CONTENT_TYPES, **publish.media_types(), **MEDIA_TYPES}


def content_type(path: Path) -> str:
    """The Content-Type of a file of an edition: by its name, else by its suffix."""
    types = _media_types()
    return types.get(path.name) or types.get(path.suffix.lower(), "application/octet-stream")


class RangeNotSatisfiable(Exception):
    """The requested range starts beyond the end of the file."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single `bytes=` range of a file of `size` bytes.

    None means the header is ignored and the whole file sent (a malformed header, or
    several ranges); RangeNotSatisfiable means 416.
    """
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first_text, last_text = (_position(text) for text in match.groups())
    if not first_text:  # bytes=-N: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)


def _position(text: str) -> str:
    """A byte position as given, or one beyond any file when it has too many digits."""
    return str(_BEYOND) if len(text.lstrip("0")) > _MAX_DIGITS else text


def host_name(value: str) -> str:
    """The host of a Host header or URL authority, without port or brackets, lowercase."""
    value = value.strip().lower().rstrip(".")
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def allowed_hosts(bound: str) -> frozenset[str] | None:
    """The host names a request may use; None for any IP address (a wildcard bind)."""
    if bound in WILDCARD_ADDRESSES:
        return None
    return LOOPBACK_NAMES | {bound.lower()}


def host_allowed(host: str, bound: str) -> bool:
    """Whether a request for `host` is meant for this server (no DNS rebinding).

    A server bound to one address answers to that address and to localhost; one bound
    to every address, to any IP address, localhost and this computer's names. A name
    in someone else's domain never matches, whatever it resolves to.
    """
    allowed = allowed_hosts(bound)
    if allowed is not None:
        return host in allowed
    if host in LOOPBACK_NAMES or host in {socket.gethostname().lower(), socket.getfqdn().lower()}:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def resolve(root: Path, target: str) -> Path | None:
    """The file a request target names inside `root`, or None when it is not a file there.

    `root` must already be resolved. Anything that could leave it is refused: a
    `..` segment (also percent-encoded), a backslash or NUL, a hidden name, and a
    path whose real location (symbolic links followed) is outside `root`.
    """
    if target.startswith("/"):
        path = target.split("?", 1)[0].split("#", 1)[0]
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", target):
        path = urllib.parse.urlsplit(target).path or "/"
    else:
        return None
    try:
        path = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if any(part == ".." or part.startswith(".") or "\\" in part or "\x00" in part
           for part in parts):
        return None
    return inside(root, root.joinpath(*parts))


def inside(root: Path, path: Path) -> Path | None:
    """The real location of `path` if it exists and is `root` or below it, else None."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real != root and root not in real.parents:
        return None
    return real


class EditionHandler(BaseHTTPRequestHandler):
    """GET and HEAD for the files of one folder, with single byte ranges."""

    server: EditionServer
    server_version = "audioguide"
    sys_version = ""
    # Answer even a request without a version with a status line (never HTTP/0.9).
    default_request_version = "HTTP/1.0"
    timeout = SOCKET_TIMEOUT

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if len(self.requestline.split()) == 2 or self.request_version == "HTTP/0.9":
            # HTTP/0.9 has no status line or headers: a body alone could be anything.
            self.request_version = "HTTP/1.0"
            self.close_connection = True
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP/0.9 is not served")
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        self._serve(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(body=False)

    def _serve(self, body: bool) -> None:
        if not self._host_allowed():
            self._error(HTTPStatus.MISDIRECTED_REQUEST)
            return
        generated = self.server.generated(self.path, self.headers.get("Host"))
        if generated is not None:
            self._generated(*generated, body=body)
            return
        root = self.server.root
        path = resolve(root, self.path)
        if path is None:
            self._error(HTTPStatus.NOT_FOUND)
            return
        if path.is_dir():
            url_path = self.path.split("?", 1)[0].split("#", 1)[0]
            if not url_path.endswith("/"):
                self._redirect(url_path + "/")
                return
            index = path / INDEX
            if index.is_file():
                path = index
            else:
                self._listing(path, url_path, body)
                return
        if not path.is_file():
            self._error(HTTPStatus.NOT_FOUND)
            return
        self._file(path, body)

    def _host_allowed(self) -> bool:
        hosts = []
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]", self.path):
            hosts.append(urllib.parse.urlsplit(self.path).netloc.rsplit("@", 1)[-1])
        hosts += self.headers.get_all("Host") or []
        bound = self.server.server_address[0]
        bound = bound.decode() if isinstance(bound, bytes) else str(bound)
        return all(host_allowed(host_name(host), bound) for host in hosts)

    def _file(self, path: Path, body: bool) -> None:
        try:
            handle = path.open("rb")
        except OSError:
            self._error(HTTPStatus.NOT_FOUND)
            return
        with handle:
            stat = os.fstat(handle.fileno())
            size = stat.st_size
            modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
            # A render replaces files (new inode, size or time), never rewrites them in place.
            etag = f'"{stat.st_ino:x}-{size:x}-{stat.st_mtime_ns:x}"'
            if self._unchanged(etag):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self._common_headers()
                self.end_headers()
                return
            first, last = 0, size - 1
            status = HTTPStatus.OK
            header = self.headers.get("Range")
            if header is not None and not self._stale(modified, etag):
                try:
                    wanted = parse_range(header, size)
                except RangeNotSatisfiable:
                    self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self._common_headers()
                    self.end_headers()
                    return
                if wanted is not None:
                    first, last = wanted
                    status = HTTPStatus.PARTIAL_CONTENT
            length = max(0, last - first + 1)
            self.send_response(status)
            self.send_header("Content-Type", content_type(path))
            self.send_header("Content-Length", str(length))
            self.send_header("Last-Modified", modified)
            self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            if status == HTTPStatus.PARTIAL_CONTENT:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self._common_headers()
            self.end_headers()
            if body and length:
                handle.seek(first)
                self._copy(handle, length)

    def _stale(self, modified: str, etag: str) -> bool:
        """An If-Range that names another version of the file: send it whole.

        An entity tag must match strongly (a weak one never does); a date exactly.
        """
        condition = self.headers.get("If-Range")
        if condition is None:
            return False
        condition = condition.strip()
        return condition != (etag if condition.startswith(('"', "W/")) else modified)

    def _unchanged(self, etag: str) -> bool:
        """If-None-Match names this version (or any, with *): answer 304."""
        condition = self.headers.get("If-None-Match")
        if condition is None:
            return False
        tags = [tag.strip().removeprefix("W/") for tag in condition.split(",")]
        return "*" in tags or etag in tags

    def _copy(self, handle: object, length: int) -> None:
        read = handle.read  # type: ignore[attr-defined]
        remaining = length
        try:
            while remaining > 0:
                block = read(min(CHUNK, remaining))
                if not block:
                    break
                self.wfile.write(block)
                remaining -= len(block)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # Media elements drop a request as soon as they have the bytes they need.
            self.close_connection = True

    def _listing(self, folder: Path, url_path: str, body: bool) -> None:
        entries = []
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.name.startswith(".") or inside(self.server.root, entry) is None:
                continue
            name = entry.name + ("/" if entry.is_dir() else "")
            entries.append({"name": name, "href": urllib.parse.quote(name)})
        page = self.server.listing_template.render(path=url_path, entries=entries)
        data = page.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self._common_headers(LISTING_POLICY)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _generated(self, data: bytes, kind: str, body: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self._common_headers()
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", urllib.parse.quote(urllib.parse.unquote(location)))
        self.send_header("Content-Length", "0")
        self._common_headers()
        self.end_headers()

    def _error(self, status: HTTPStatus) -> None:
        self.send_error(status)

    def _common_headers(self, policy: str = CONTENT_SECURITY_POLICY) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Security-Policy", policy)
        self.send_header("X-Frame-Options", "DENY")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")


class EditionServer(ThreadingHTTPServer):
    """A threaded HTTP server over one folder."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, folder: Path, address: tuple[str, int], log: Log | None = None,
                 library: Settings | None = None):
        self.root = folder.resolve()
        self.log = log
        self.library = library
        self.listing_template = Environment(
            loader=PackageLoader("audioguide", "templates"), autoescape=True,
        ).get_template("listing.html.j2")
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, EditionHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def generated(self, target: str, host: str | None) -> tuple[bytes, str] | None:
        """The library's page, feed or catalogue, made for this server's own address, when
        `target` names one and the folder holds editions; None otherwise."""
        path = target.split("?", 1)[0].split("#", 1)[0]
        name = "index.html" if path == "/" else path.lstrip("/")
        if self.library is None or name not in GENERATED:
            return None
        from dataclasses import replace

        from . import library

        own = f"http://{host}/" if host and _HOST.match(host) else self.url
        settings = replace(self.library, base_url=library.normalize_base_url(own, "Host"))
        found = library.read_library(self.root, settings)
        if not found.editions:
            return None
        data = library.library_files(found)[name]
        return data, content_type(Path(name))

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that misbehaves or goes away must not stop the server or flood the log.
        if self.log is not None:
            self.log(f"{client_address}: request failed")


def make_server(folder: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                log: Log | None = None, library: Settings | None = None) -> EditionServer:
    """A server for `folder`, bound and ready for `serve_forever()` (port 0: any free port)."""
    if not folder.exists():
        raise UsageError("no such folder; render an edition first, or name its folder",
                         path=folder)
    if not folder.is_dir():
        raise UsageError("is not a folder; serve the folder that holds the edition", path=folder)
    try:
        return EditionServer(folder, (host, port), log, library)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise OutputError(f"port {port} on {host} is in use; choose another with --port"
                              ) from None
        if exc.errno == errno.EACCES:
            raise OutputError(f"no permission to listen on port {port}; choose a port above "
                              "1023 with --port") from None
        raise OutputError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); check "
                          "--host and --port") from None


def serve(folder: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          ready: Callable[[str], None] | None = None, log: Log | None = None,
          library: Settings | None = None) -> None:
    """Serve `folder` until interrupted; `ready` receives the server's URL once it listens.

    With `library` settings, a folder of editions gets its library page, feed and
    catalogue made on request, with this server's addresses."""
    server = make_server(folder, host, port, log, library)
    try:
        if ready is not None:
            ready(server.url)
        server.serve_forever()
    finally:
        server.server_close()


def start_in_thread(server: EditionServer) -> threading.Thread:
    """Run a server in a daemon thread (for tests and embedding); stop it with shutdown()."""
    thread = threading.Thread(target=server.serve_forever, name="audioguide-serve", daemon=True)
    thread.start()
    return thread

