"""The preview server: byte ranges, content types, confinement to its folder, robustness."""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide import cli
from audioguide.server import EditionServer, make_server, start_in_thread

SECRET = b"outside the edition: never served"
AUDIO = bytes(range(256)) * 40  # 10240 bytes, every offset recognisable


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder to serve, beside a secret file and folder it must never give out."""
    base = tmp_path_factory.mktemp("serve")
    (base / "secret.txt").write_bytes(SECRET)
    (base / "private").mkdir()
    (base / "private" / "key.txt").write_bytes(SECRET)
    root = base / "edition"
    (root / "chapters").mkdir(parents=True)
    (root / "index.html").write_text("<!DOCTYPE html><title>t</title><p>page", encoding="utf-8")
    (root / "book.mp3").write_bytes(AUDIO)
    (root / "book.m4b").write_bytes(b"m4b")
    (root / "book.epub").write_bytes(b"PK")
    (root / "captions.vtt").write_text("WEBVTT\n\n", encoding="utf-8")
    (root / "chapters.json").write_text('{"version": "1.2.0", "chapters": []}',
                                        encoding="utf-8")
    (root / "manifest.json").write_text("{}", encoding="utf-8")
    (root / "player.js").write_text("", encoding="utf-8")
    (root / "player.css").write_text("", encoding="utf-8")
    (root / "shownotes.txt").write_text("notes", encoding="utf-8")
    (root / "book.m3u8").write_text("#EXTM3U\n", encoding="utf-8")
    (root / "chapters" / "01-one.mp3").write_bytes(b"one")
    (root / "empty.txt").write_bytes(b"")
    (root / ".hidden").write_bytes(SECRET)
    (root / "escape.txt").symlink_to(base / "secret.txt")
    (root / "escape-dir").symlink_to(base / "private", target_is_directory=True)
    (root / "alias.mp3").symlink_to(root / "book.mp3")
    return root


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[EditionServer]:
    """The server on a free port of 127.0.0.1, running in a thread."""
    instance = make_server(site, port=0)
    start_in_thread(instance)
    yield instance
    instance.shutdown()
    instance.server_close()


def get(server: EditionServer, target: str, headers: dict[str, str] | None = None,
        method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send one request with the target exactly as given; return status, headers, body."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), port, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def raw(server: EditionServer, data: bytes) -> bytes:
    """Send raw bytes and return whatever the server answers before closing."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_whole_file_advertises_ranges(server: EditionServer) -> None:
    """A plain GET returns the whole file with its length and Accept-Ranges: bytes."""
    status, headers, body = get(server, "/book.mp3")
    assert status == 200
    assert body == AUDIO
    assert headers["content-length"] == str(len(AUDIO))
    assert headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-1", 0, 1),
    ("bytes=100-299", 100, 299),
    ("bytes=10000-", 10000, 10239),
    ("bytes=-40", 10200, 10239),
    ("bytes=10200-99999", 10200, 10239),
])
def test_range_gets_206(server: EditionServer, header: str, first: int, last: int) -> None:
    """A satisfiable byte range gets 206 with exactly those bytes and a Content-Range."""
    status, headers, body = get(server, "/book.mp3", {"Range": header})
    assert status == 206
    assert headers["content-range"] == f"bytes {first}-{last}/{len(AUDIO)}"
    assert headers["content-length"] == str(last - first + 1)
    assert body == AUDIO[first:last + 1]


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_unsatisfiable_range_gets_416(server: EditionServer, header: str) -> None:
    """A range past the end gets 416 with `bytes */size` and no body."""
    status, headers, body = get(server, "/book.mp3", {"Range": header})
    assert status == 416
    assert headers["content-range"] == f"bytes */{len(AUDIO)}"
    assert body == b""


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-1", "bytes=5-2", "bytes=0-1,5-6", ""])
def test_malformed_or_multiple_range_sends_whole_file(server: EditionServer, header: str) -> None:
    """A Range header the server does not take is ignored: 200 with the whole file."""
    status, _, body = get(server, "/book.mp3", {"Range": header})
    assert status == 200
    assert body == AUDIO


def test_if_range_for_another_version_sends_whole_file(server: EditionServer) -> None:
    """If-Range naming another version of the file gets the whole file, not a range."""
    status, _, body = get(server, "/book.mp3", {"Range": "bytes=0-1",
                                                "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert status == 200
    assert body == AUDIO


def test_head_sends_headers_only(server: EditionServer) -> None:
    """HEAD answers with the GET headers and no body."""
    status, headers, body = get(server, "/book.mp3", method="HEAD")
    assert status == 200
    assert headers["content-length"] == str(len(AUDIO))
    assert body == b""


@pytest.mark.parametrize(("path", "expected"), [
    ("/book.mp3", "audio/mpeg"),
    ("/book.m4b", "audio/mp4"),
    ("/book.epub", "application/epub+zip"),
    ("/captions.vtt", "text/vtt; charset=utf-8"),
    ("/chapters.json", "application/json+chapters"),
    ("/manifest.json", "application/json"),
    ("/index.html", "text/html; charset=utf-8"),
    ("/player.js", "text/javascript; charset=utf-8"),
    ("/player.css", "text/css; charset=utf-8"),
    ("/shownotes.txt", "text/plain; charset=utf-8"),
    ("/book.m3u8", "audio/x-mpegurl"),
    ("/chapters/01-one.mp3", "audio/mpeg"),
])
def test_content_types(server: EditionServer, path: str, expected: str) -> None:
    """Each kind of file is sent with the Content-Type its players expect, and nosniff."""
    status, headers, _ = get(server, path)
    assert status == 200
    assert headers["content-type"] == expected
    assert headers["x-content-type-options"] == "nosniff"


def test_folder_serves_its_index(server: EditionServer) -> None:
    """`/` is the edition's index.html; a folder without a slash is redirected to one."""
    status, headers, body = get(server, "/")
    assert status == 200
    assert b"<p>page" in body
    status, headers, _ = get(server, "/chapters")
    assert status == 301
    assert headers["location"] == "/chapters/"


def test_folder_without_index_lists_its_files(server: EditionServer) -> None:
    """A folder without index.html gets a listing of its files, never of hidden ones."""
    status, headers, body = get(server, "/chapters/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert b'href="01-one.mp3"' in body


def test_empty_file(server: EditionServer) -> None:
    """An empty file is a 200 with no body; any range of it is unsatisfiable."""
    assert get(server, "/empty.txt")[0] == 200
    assert get(server, "/empty.txt", {"Range": "bytes=0-"})[0] == 416


@pytest.mark.parametrize("target", [
    "/../secret.txt",
    "/chapters/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/chapters/%2e%2e/%2e%2e/secret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "http://127.0.0.1/../secret.txt",
    "../secret.txt",
    "secret.txt",
    "/.hidden",
    "/%00secret.txt",
    "/%ff",
])
def test_traversal_is_refused(server: EditionServer, target: str) -> None:
    """`..` in any spelling, hidden files and malformed targets get 4xx and no outside byte."""
    status, _, body = get(server, target)
    assert status in (400, 403, 404)
    assert SECRET not in body


def test_absolute_path_is_refused(server: EditionServer, site: Path) -> None:
    """A target naming the secret's absolute path on disk is looked up inside the edition."""
    secret = site.parent / "secret.txt"
    for target in (str(secret), "/" + str(secret), "//" + str(secret).lstrip("/"),
                   "file://" + str(secret)):
        status, _, body = get(server, target)
        assert status in (400, 403, 404), target
        assert SECRET not in body


def test_symlink_escape_is_refused(server: EditionServer) -> None:
    """A symbolic link leading out of the edition is not followed; one inside it is."""
    for target in ("/escape.txt", "/escape-dir/key.txt", "/escape-dir/"):
        status, _, body = get(server, target)
        assert status == 404, target
        assert SECRET not in body
    listing = get(server, "/chapters/")[2] + get(server, "/")[2]
    assert b"escape" not in listing
    status, _, body = get(server, "/alias.mp3")
    assert status == 200
    assert body == AUDIO


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"\x00\xff\xfe\r\n\r\n",
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n",
    b"BREW /book.mp3 HTTP/1.1\r\n\r\n",
    b"",
])
def test_malformed_request_does_not_stop_the_server(server: EditionServer,
                                                    request_bytes: bytes) -> None:
    """A malformed request gets an error (or nothing) and the next request is still served."""
    answer = raw(server, request_bytes)
    assert answer == b"" or answer.startswith(b"HTTP/")
    assert SECRET not in answer
    assert get(server, "/book.mp3")[0] == 200


def test_aborted_download_does_not_stop_the_server(server: EditionServer) -> None:
    """A client that goes away in the middle of a body does not stop the server."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as sock:
        sock.sendall(b"GET /book.mp3 HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(10)
    assert get(server, "/book.mp3", {"Range": "bytes=0-9"})[2] == AUDIO[:10]


def test_a_stalled_client_does_not_block_others(server: EditionServer) -> None:
    """Requests run in threads: a client that never finishes its request blocks no one."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as stalled:
        stalled.sendall(b"GET /book.mp3 HTTP/1.1\r\n")
        assert get(server, "/index.html")[0] == 200


def test_binds_loopback_by_default(site: Path) -> None:
    """The library and the CLI listen on 127.0.0.1 unless told otherwise."""
    instance = make_server(site, port=0)
    try:
        assert instance.server_address[0] == "127.0.0.1"
        assert instance.url.startswith("http://127.0.0.1:")
    finally:
        instance.server_close()
    host_option = next(p for p in cli.serve.params if p.name == "host")
    assert host_option.default == "127.0.0.1"


def test_cli_refuses_a_missing_folder(tmp_path: Path) -> None:
    """`audioguide serve` on a folder that does not exist says so and exits 2."""
    result = CliRunner().invoke(cli.main, ["serve", str(tmp_path / "nowhere"), "--port", "0"])
    assert result.exit_code == 2
    assert "no such folder" in result.output
    assert "Traceback" not in result.output


def test_cli_reports_a_port_in_use(site: Path) -> None:
    """`audioguide serve` on a port already taken says so and exits 1."""
    taken = make_server(site, port=0)
    try:
        port = taken.server_address[1]
        result = CliRunner().invoke(cli.main, ["serve", str(site), "--port", str(port)])
    finally:
        taken.server_close()
    assert result.exit_code == 1
    assert f"port {port}" in result.output and "in use" in result.output


def test_serve_default_folder_is_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a folder, `audioguide serve` serves ./audio."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "audio: no such folder" in result.output


# ---------------------------------------------------------------------------
# Hardening: huge numbers, HTTP/0.9, entity tags, Host, page policies
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["bytes=" + "9" * 5000 + "-", "bytes=" + "1" * 19 + "-" +
                                    "2" * 19])
def test_a_huge_range_number_gets_416(server: EditionServer, header: str) -> None:
    """A range starting thousands of digits into the file gets 416, not a dropped connection."""
    status, headers, body = get(server, "/book.mp3", {"Range": header})
    assert status == 416
    assert headers["content-range"] == f"bytes */{len(AUDIO)}"
    assert body == b""


@pytest.mark.parametrize("header", ["bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000])
def test_a_huge_range_end_is_the_end_of_the_file(server: EditionServer, header: str) -> None:
    """A last position or suffix with thousands of digits reaches to the end of the file."""
    status, headers, body = get(server, "/book.mp3", {"Range": header})
    assert status == 206
    assert body == AUDIO


@pytest.mark.parametrize("request_line", [b"GET /book.mp3 HTTP/0.9", b"GET /book.mp3"])
def test_http_0_9_is_refused(server: EditionServer, request_line: bytes) -> None:
    """An HTTP/0.9 request gets a 505 status line, never a bare body."""
    answer = raw(server, request_line + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 505 ")
    assert AUDIO[:100] not in answer


def test_strong_etag_with_if_none_match_and_if_range(server: EditionServer, site: Path) -> None:
    """Files carry a strong ETag; If-None-Match gets 304; If-Range with it gets the range,
    with another tag (or a weak one) the whole file."""
    status, headers, _ = get(server, "/book.mp3")
    etag = headers["etag"]
    assert status == 200 and re.fullmatch(r'"[0-9a-f-]+"', etag)
    status, headers, body = get(server, "/book.mp3", {"If-None-Match": etag})
    assert (status, headers["etag"], body) == (304, etag, b"")
    assert get(server, "/book.mp3", {"If-None-Match": '"other"'})[0] == 200
    status, _, body = get(server, "/book.mp3", {"Range": "bytes=0-9", "If-Range": etag})
    assert (status, body) == (206, AUDIO[:10])
    for other in ('"other"', "W/" + etag):
        status, _, body = get(server, "/book.mp3", {"Range": "bytes=0-9", "If-Range": other})
        assert (status, body) == (200, AUDIO)
    # A re-render replaces the file: its tag changes, and a range that spans it is whole.
    replacement = site / ".book.mp3.new"
    replacement.write_bytes(AUDIO)
    replacement.replace(site / "book.mp3")
    assert get(server, "/book.mp3")[1]["etag"] != etag
    status, _, body = get(server, "/book.mp3", {"Range": "bytes=0-9", "If-Range": etag})
    assert (status, body) == (200, AUDIO)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "[::2]"])
def test_other_hosts_are_refused(server: EditionServer, host: str) -> None:
    """A Host header or absolute URL for another host gets 421 (no DNS rebinding)."""
    status, _, body = get(server, "/book.mp3", {"Host": host})
    assert status == 421 and AUDIO[:100] not in body
    answer = raw(server, f"GET http://{host}/book.mp3 HTTP/1.1\r\n"
                         "Connection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.0 421 ")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1", "[::1]:80"])
def test_loopback_hosts_are_served(server: EditionServer, host: str) -> None:
    """The bound address and localhost, with any port, are served."""
    assert get(server, "/book.mp3", {"Host": host})[0] == 200


def test_a_wildcard_bind_serves_addresses_but_not_names(site: Path) -> None:
    """Bound to every address, the server answers to IP addresses and localhost only."""
    from audioguide.server import host_allowed

    assert host_allowed("192.168.1.20", "0.0.0.0")
    assert host_allowed("localhost", "::")
    assert not host_allowed("evil.example", "0.0.0.0")
    assert not host_allowed("192.168.1.20", "127.0.0.1")


def test_pages_carry_a_content_security_policy(server: EditionServer) -> None:
    """Every answer forbids framing and anything from another origin."""
    for target in ("/index.html", "/book.mp3", "/chapters/"):
        headers = get(server, target)[1]
        assert headers["x-frame-options"] == "DENY"
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
