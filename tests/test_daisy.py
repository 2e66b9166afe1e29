"""The DAISY 2.02 talking book, read back from the rendered files and by daisy-player."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
import uuid
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from audioguide.tools import decode_duration_ms
from conftest import SMALL_SCRIPT, cli_render_only, manifest, render_fake

X = "{http://www.w3.org/1999/xhtml}"
MANDATORY = (
    "dc:title", "dc:creator", "dc:date", "dc:format", "dc:identifier", "dc:language",
    "dc:publisher", "ncc:charset", "ncc:depth", "ncc:files", "ncc:footnotes", "ncc:generator",
    "ncc:maxPageNormal", "ncc:multimediaType", "ncc:narrator", "ncc:pageFront",
    "ncc:pageNormal", "ncc:pageSpecial", "ncc:prodNotes", "ncc:setInfo", "ncc:sidebars",
    "ncc:tocItems", "ncc:totalTime",
)


def clock_ms(value: str) -> int:
    """Milliseconds of a SMIL 1.0 clock value: hh:mm:ss(.fff), npt=12.345s or 12.345s."""
    value = value.removeprefix("npt=")
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", value)
    if match:
        hours, minutes, seconds = match.groups()
        return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", value)
    assert match, f"not a SMIL 1.0 clock value: {value!r}"
    return round(float(match.group(1)) * 1000)


def ncc(folder: Path) -> ET.Element:
    return ET.parse(folder / "daisy" / "ncc.html").getroot()


def meta(root: ET.Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for element in root.iter(f"{X}meta"):
        if element.get("name"):
            found.setdefault(element.get("name"), []).append(element.get("content"))
    return found


def headings(root: ET.Element) -> list[ET.Element]:
    body = root.find(f"{X}body")
    assert body is not None
    return [el for el in body if re.fullmatch(rf"{re.escape(X)}h[1-6]", el.tag)]


def smil_files(folder: Path) -> list[Path]:
    """The SMIL files in the order the NCC first links to them."""
    files: list[Path] = []
    for heading in headings(ncc(folder)):
        (link,) = heading.iter(f"{X}a")
        path = folder / "daisy" / link.get("href").split("#")[0]
        if path not in files:
            files.append(path)
    return files


def clips(smil: Path) -> list[tuple[str, str, int, int]]:
    """(par id, audio file, clip-begin ms, clip-end ms) of every par with audio."""
    result = []
    for par in ET.parse(smil).getroot().iter("par"):
        for audio in par.iter("audio"):
            result.append((par.get("id"), audio.get("src"), clock_ms(audio.get("clip-begin")),
                           clock_ms(audio.get("clip-end"))))
    return result


def smil_meta(smil: Path) -> dict[str, str]:
    return {m.get("name"): m.get("content") for m in ET.parse(smil).getroot().iter("meta")}


def test_ncc_has_the_mandatory_metadata(small_edition: Path) -> None:
    """The NCC carries every mandatory DAISY 2.02 metadata item, with the book's values."""
    raw = (small_edition / "daisy" / "ncc.html").read_text(encoding="utf-8")
    assert raw.startswith('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC '
                          '"-//W3C//DTD XHTML 1.0 ')
    values = meta(ncc(small_edition))
    missing = [name for name in MANDATORY if name not in values]
    assert not missing
    assert all(len(values[name]) == 1 for name in MANDATORY)
    one = {name: values[name][0] for name in MANDATORY}
    data = manifest(small_edition)
    assert one["dc:title"] == data["title"] == "A Small Test Edition"
    assert one["dc:creator"] == "Test Author"
    assert one["dc:publisher"] == "Test Publication"
    assert one["dc:language"] == "en-US"
    assert one["dc:format"] == "Daisy 2.02"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", one["dc:date"])
    assert uuid.UUID(one["dc:identifier"].removeprefix("urn:uuid:")).version == 5
    assert one["ncc:charset"] == "utf-8"
    assert one["ncc:narrator"] == data["narrator"]
    assert one["ncc:multimediaType"] == "audioFullText"
    assert one["ncc:setInfo"] == "1 of 1"
    assert one["ncc:generator"].startswith("audioguide ")
    for name in ("ncc:pageFront", "ncc:pageNormal", "ncc:pageSpecial", "ncc:maxPageNormal",
                 "ncc:footnotes", "ncc:sidebars", "ncc:prodNotes"):
        assert one[name] == "0", name
    assert one["ncc:depth"] == "1"
    assert int(one["ncc:tocItems"]) == len(headings(ncc(small_edition))) == len(
        data["chapters"]) + 1
    assert re.fullmatch(r"\d\d:\d\d:\d\d", one["ncc:totalTime"])
    files = [p for p in (small_edition / "daisy").rglob("*") if p.is_file()]
    assert int(one["ncc:files"]) == len(files)


def test_times_add_up(article_edition: Path) -> None:
    """timeInThisSmil = seq/@dur = sum of clips; elapsed times accumulate; totalTime is the sum."""
    elapsed = 0
    for smil in smil_files(article_edition):
        root = ET.parse(smil).getroot()
        assert root.tag == "smil"
        values = smil_meta(smil)
        assert clock_ms(values["ncc:totalElapsedTime"]) == elapsed
        in_this = clock_ms(values["ncc:timeInThisSmil"])
        seq = root.find("body/seq")
        assert seq is not None
        assert clock_ms(seq.get("dur")) == in_this
        assert in_this == sum(end - begin for _, _, begin, end in clips(smil))
        elapsed += in_this
    total = clock_ms(meta(ncc(article_edition))["ncc:totalTime"][0])
    assert abs(total - elapsed) <= 1000
    assert elapsed == sum(c["file_ms"] for c in manifest(article_edition)["chapters"])


def test_smil_files_are_smil_1(small_edition: Path) -> None:
    """Every SMIL file declares the SMIL 1.0 DTD and the DAISY 2.02 format."""
    for smil in smil_files(small_edition):
        raw = smil.read_text(encoding="utf-8")
        assert '<!DOCTYPE smil PUBLIC "-//W3C//DTD SMIL 1.0//EN"' in raw
        assert smil_meta(smil)["dc:format"] == "Daisy 2.02"


def test_clips_stay_inside_their_audio(article_edition: Path) -> None:
    """Clips tile each chapter file from its start, and none runs past the decoded audio."""
    chapters = manifest(article_edition)["chapters"]
    for smil, chapter in zip(smil_files(article_edition), chapters, strict=True):
        found = clips(smil)
        (audio,) = {src for _, src, _, _ in found}
        assert audio == Path(chapter["file"]).name
        length = decode_duration_ms(smil.parent / audio)
        assert found[0][2] == 0
        for (_, _, begin, end), (_, _, next_begin, _) in zip(found, found[1:], strict=False):
            assert begin < end == next_begin
        assert found[-1][3] == chapter["file_ms"]
        assert found[-1][2] < found[-1][3] <= length + 1
        # Each par starts where its sentence starts; the first par of a file starts at 0,
        # so the room tone that opens a chapter is heard (in the first file it is the
        # title's clip, before the first heading).
        starts = [begin for par, _, begin, _ in found if par != "par-title"]
        sentence_starts = [s["start_in_chapter_ms"] for s in chapter["sentences"]]
        if found[0][0] == "par-title":
            assert found[0][3] == starts[0] == sentence_starts[0] > 0
        else:
            assert starts[0] == 0 < sentence_starts[0]
        assert starts[1:] == sentence_starts[1:]


def test_every_heading_links_to_a_par(article_edition: Path) -> None:
    """The title comes first; every NCC heading has an id and one link to an existing par."""
    root = ncc(article_edition)
    body = root.find(f"{X}body")
    assert body is not None
    found = headings(root)
    assert body[0] is found[0]
    assert found[0].tag == f"{X}h1" and found[0].get("class") == "title"
    titles = [manifest(article_edition)["title"], *(c["title"] for c in
                                                  manifest(article_edition)["chapters"])]
    assert ["".join(h.itertext()) for h in found] == titles
    assert len({h.get("id") for h in found}) == len(found) and all(h.get("id") for h in found)
    for heading in found:
        (link,) = heading.iter(f"{X}a")
        name, fragment = link.get("href").split("#")
        pars = {par.get("id") for par in ET.parse(article_edition / "daisy" / name).iter("par")}
        assert fragment in pars


def test_text_references_resolve_to_the_written_text(article_edition: Path) -> None:
    """Every par's text points at an element of content.html holding that sentence's text."""
    content = ET.parse(article_edition / "daisy" / "content.html").getroot()
    by_id = {el.get("id"): "".join(el.itertext()) for el in content.iter() if el.get("id")}
    referenced = []
    for smil in smil_files(article_edition):
        for text in ET.parse(smil).getroot().iter("text"):
            name, fragment = text.get("src").split("#")
            assert name == "content.html" and fragment in by_id
            referenced.append(fragment)
    sentences = [s for c in manifest(article_edition)["chapters"] for s in c["sentences"]]
    assert referenced[0] == "title" and by_id["title"] == manifest(article_edition)["title"]
    assert referenced[1:] == [s["id"] for s in sentences]
    assert [by_id[s["id"]] for s in sentences] == [s["text"] for s in sentences]


def smil_durations(folder: Path) -> list[int]:
    """What each NCC item lasts: its par's clips up to the next item's par (ms)."""
    links = []
    for heading in headings(ncc(folder)):
        (link,) = heading.iter(f"{X}a")
        links.append(tuple(link.get("href").split("#")))
    durations = []
    for index, (name, fragment) in enumerate(links):
        following = links[index + 1] if index + 1 < len(links) else None
        total, counting = 0, False
        for par, _, begin, end in clips(folder / "daisy" / name):
            if following == (name, par):
                break
            counting = counting or par == fragment
            total += (end - begin) if counting else 0
        durations.append(total)
    return durations


def run_daisy_player(book: Path, home: Path, timeout: float = 30.0) -> tuple[int | None, str]:
    """Open `book` in daisy-player in a pseudo-terminal, quit it, and return what it drew.

    daisy-player 13.0 reads /proc/asound/cards before it shows a book and exits
    when the file is missing, as it is on a machine without an ALSA driver (a
    container, a CI runner). It runs here in a private mount namespace whose /proc
    is a small tmpfs holding an empty asound/cards ("no sound cards"); nothing else
    changes, and nothing is played. It first asks for a sound card ('q' leaves that
    screen), then lists the book; 'q' quits.
    """
    player, unshare = shutil.which("daisy-player"), shutil.which("unshare")
    if player is None or unshare is None:
        pytest.fail("daisy-player is not installed: sudo apt-get install daisy-player "
                    "(or run ./dev.sh test)")
    setup = ('mount -t tmpfs -o size=64k none /proc && mkdir /proc/asound && '
             ': > /proc/asound/cards && exec "$0" -n -i "$1"')
    as_root = [] if os.geteuid() == 0 else ["--map-root-user"]
    command = [unshare, "--mount", *as_root, "sh", "-c", setup, player, str(book)]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "HOME": str(home), "TERM": "xterm", "LC_ALL": "C.UTF-8"}
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                               cwd=home, start_new_session=True)
    os.close(slave)
    output, step = b"", 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:  # EIO: the terminal closed as the player exited
                    chunk = b""
                if not chunk:
                    break
                output += chunk
            screen = output.decode("utf-8", "replace")
            if step == 0 and "Select a soundcard" in screen:
                os.write(master, b"q")
                step = 1
            elif step == 1 and "total length" in screen:
                time.sleep(0.3)  # let it finish drawing the list
                os.write(master, b"q")
                step = 2
            elif not ready and process.poll() is not None:
                break
        code = process.wait(timeout=5) if step == 2 else process.poll()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    plain = re.sub(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78cM]|\][^\x07]*\x07)",
                   "\n", output.decode("utf-8", "replace"))
    return code, plain


def test_daisy_player_lists_every_chapter(article_edition: Path, tmp_path: Path) -> None:
    """Debian's daisy-player opens the book, lists each heading with its length, and quits."""
    code, screen = run_daisy_player(article_edition / "daisy", tmp_path)
    assert code == 0, screen
    assert "total length" in screen, screen
    titles = ["".join(h.itertext()) for h in headings(ncc(article_edition))]
    total = re.search(r"total length: (\d\d):(\d\d):(\d\d)", screen)
    assert total, screen
    position = total.end()  # the list follows the status line
    shown = []
    for title in titles:
        # The list is 80 columns wide: long titles are cut, so match their start.
        match = re.compile(re.escape(title[:40]) + r".*?(\d\d):(\d\d)", re.S).search(
            screen, position)
        assert match, f"daisy-player did not list {title!r}:\n{screen}"
        shown.append(int(match.group(1)) * 60 + int(match.group(2)))
        position = match.end()
    expected = [round(ms / 1000) for ms in smil_durations(article_edition)]
    assert all(abs(a - b) <= 1 for a, b in zip(shown, expected, strict=True)), (shown, expected)
    hours, minutes, seconds = map(int, total.groups())
    declared = clock_ms(meta(ncc(article_edition))["ncc:totalTime"][0]) / 1000
    assert abs(hours * 3600 + minutes * 60 + seconds - declared) <= 1


def test_cli_renders_only_the_daisy_book(tmp_path: Path) -> None:
    """`audioguide render --format daisy` writes daisy/ with its audio and no other output."""
    result, folder = cli_render_only(tmp_path, "daisy")
    assert "daisy/ncc.html" in result.output
    assert manifest(folder)["formats"] == ["daisy"]
    assert sorted(p.name for p in folder.iterdir()) == ["cover.png", "daisy", "manifest.json"]
    daisy = sorted(p.name for p in (folder / "daisy").iterdir())
    assert daisy == ["01-content-note.mp3", "01.smil", "02-the-first-part.mp3", "02.smil",
                     "03-the-second-part.mp3", "03.smil", "content.html", "ncc.html"]
    assert set(manifest(folder)["files"]) >= {f"daisy/{name}" for name in daisy}


def test_render_is_byte_identical(tmp_path: Path) -> None:
    """Two renders of one script, each with its own cache, write the same DAISY files."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    books = []
    for run in ("one", "two"):
        folder = render_fake(script, tmp_path / run / "audio", tmp_path / run / "cache",
                             formats=("daisy",)).folder / "daisy"
        books.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert books[0] == books[1]
