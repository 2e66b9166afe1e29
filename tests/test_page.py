"""The player page: its HTML as written, and the page in headless Chromium through the server.

The browser tests drive Debian's Chromium with Playwright (no browser download),
check WCAG 2.2 AA with axe-core, script the keyboard path that axe cannot judge,
and take screenshots. Set AUDIOGUIDE_SHOTS to a folder to keep copies of them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from audioguide.server import EditionServer, make_server, start_in_thread
from conftest import SMALL_SCRIPT, manifest, render_fake
from tricky import render_tricky

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--mute-audio",
                 "--autoplay-policy=no-user-gesture-required"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
FOCUSABLE = ("a", "button", "input", "select", "textarea", "audio")


class Outline(HTMLParser):
    """The parts of a page the tests look at: elements in order, with their attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.inside_audio: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.elements.append((tag, values))
        if "audio" in self.stack:
            self.inside_audio.append((tag, values))
        if tag not in ("meta", "link", "img", "source", "track", "input", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [values for name, values in self.elements if name == tag and all(
            re.search(rf"(^|\s){re.escape(v)}(\s|$)", values.get(k, "")) for k, v in attrs.items())]

    def index(self, tag: str, **attrs: str) -> int:
        for i, (name, values) in enumerate(self.elements):
            if name == tag and all(values.get(k) == v for k, v in attrs.items()):
                return i
        raise AssertionError(f"no <{tag} {attrs}>")


def outline(folder: Path) -> Outline:
    """The parsed index.html of an edition."""
    parser = Outline()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    return parser


# The page as written ---------------------------------------------------------------


def test_structure(article_edition: Path) -> None:
    """lang, one h1, the skip link first, landmarks, the content note before the player."""
    page = outline(article_edition)
    book = manifest(article_edition)
    html = page.all("html")[0]
    assert html["lang"] == book["language"]
    assert len(page.all("h1")) == 1
    first_focusable = next((tag, values) for tag, values in page.elements
                           if tag in FOCUSABLE or "tabindex" in values)
    assert first_focusable == ("a", {"class": "skip-link", "href": "#main"})
    assert page.all("main", id="main")
    for landmark in ("header", "main", "nav", "footer"):
        assert page.all(landmark), landmark
    note = page.index("section", **{"class": "content-note"})
    assert note < page.index("audio")
    text = " ".join(" ".join(page.text).split())
    script_note = " ".join(s["text"] for s in book["chapters"][0]["sentences"][1:])
    assert script_note in text


def test_audio_element(article_edition: Path) -> None:
    """Native controls, metadata preload, no autoplay, both tracks, a fallback link inside."""
    page = outline(article_edition)
    slug = article_edition.name
    audio = page.all("audio")[0]
    assert "controls" in audio and audio["preload"] == "metadata"
    assert "autoplay" not in audio
    inside = page.inside_audio
    assert ("source", {"src": f"{slug}.mp3", "type": "audio/mpeg"}) in inside
    tracks = {values["kind"]: values for tag, values in inside if tag == "track"}
    assert tracks["chapters"]["src"] == "chapters.vtt"
    assert tracks["captions"]["src"] == "captions.vtt"
    assert "default" in tracks["captions"]
    assert tracks["captions"]["srclang"] == tracks["chapters"]["srclang"] == "en-US"
    assert all(values["label"] for values in tracks.values())
    assert ("a", {"href": f"{slug}.mp3"}) in inside


def test_chapter_list_links_each_chapter_file(article_edition: Path) -> None:
    """An ordered list links every chapter's own MP3, named with title and start time."""
    page = outline(article_edition)
    book = manifest(article_edition)
    items = page.all("li", **{"class": "chapter"})
    links = page.all("a", **{"class": "chapter-link"})
    assert [link["href"] for link in links] == [c["file"] for c in book["chapters"]]
    assert [item["data-title"] for item in items] == [c["title"] for c in book["chapters"]]
    assert all((article_edition / link["href"]).is_file() for link in links)
    assert page.all("ol", **{"class": "chapter-list"})


def test_transcript_has_every_sentence(article_edition: Path) -> None:
    """Every spoken sentence, content note and credits included, is an element with its id."""
    page = outline(article_edition)
    book = manifest(article_edition)
    ids = [values["id"] for values in page.all("span", **{"class": "sentence"})]
    assert ids == [s["id"] for c in book["chapters"] for s in c["sentences"]]
    headings = [values for tag, values in page.elements if tag == "h3"]
    assert len(headings) == len(book["chapters"])


def test_downloads_list_every_file_with_its_size(article_edition: Path) -> None:
    """The downloads name each book file, chapter file, track, JSON, notes and the EPUB."""
    page = outline(article_edition)
    slug = article_edition.name
    hrefs = [values["href"] for values in page.all("a")]
    book = manifest(article_edition)
    expected = [f"{slug}.m4b", f"{slug}.mp3", *(c["file"] for c in book["chapters"]),
                f"{slug}.m3u8", "captions.vtt", "chapters.vtt", "chapters.json", "shownotes.txt"]
    if (article_edition / f"{slug}.epub").is_file():
        expected.append(f"{slug}.epub")
    for href in expected:
        assert href in hrefs, href
        assert (article_edition / href).is_file()
    text = " ".join(page.text)
    assert re.search(r"M4B, \d+(\.\d)? (KB|MB)", text)
    assert re.search(r"WebVTT, \d+ (bytes|KB)", text)


def test_partial_edition_lists_only_what_exists(tmp_path: Path) -> None:
    """Without the EPUB and the chapter files, the page neither lists them nor links them."""
    script = tmp_path / "small.md"
    script.write_text(SMALL_SCRIPT, encoding="utf-8")
    folder = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                         formats=("mp3", "captions", "podcast", "page")).folder
    page = outline(folder)
    hrefs = [values["href"] for values in page.all("a")]
    assert not (folder / "small.epub").exists() and "small.epub" not in hrefs
    assert not any(href.startswith("chapters/") for href in hrefs)
    links = [values["href"] for values in page.all("a", **{"class": "chapter-link"})]
    starts = [c["start_ms"] / 1000 for c in manifest(folder)["chapters"]]
    assert links == [f"small.mp3#t={start:.3f}" for start in starts]


def test_markup_in_the_script_stays_text(tmp_path: Path) -> None:
    """Titles and sentences holding <script>, & and quotes are escaped, never markup."""
    folder = render_tricky(tmp_path)
    html = (folder / "index.html").read_text(encoding="utf-8")
    page = outline(folder)
    assert len(page.all("script")) == 1  # player.js only
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert page.all("h1")
    text = " ".join(page.text)
    assert 'Tom & Jerry said "hi" --> \'bye\'.' in text
    assert page.all("a", href="https://example.com/a?b=1&c=2")


# The page in a browser -------------------------------------------------------------


@pytest.fixture(scope="module")
def server(article_edition: Path) -> Iterator[EditionServer]:
    """The preview server on the article's edition, on a free port, with its page policies."""
    instance = make_server(article_edition, port=0)
    start_in_thread(instance)
    yield instance
    instance.shutdown()
    instance.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; never a downloaded browser."""
    if not CHROMIUM.is_file():
        pytest.fail("Chromium is missing: install the Debian package chromium (./dev.sh test "
                    "does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, as shipped inside the axe-playwright-python package."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(
        encoding="utf-8")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go."""
    return tmp_path_factory.mktemp("screenshots")


def open_page(browser: Any, server: EditionServer, **context: Any) -> Any:
    """A fresh page on the edition's index, with its script started and metadata loaded."""
    options = {"viewport": DESKTOP, "device_scale_factor": 1, **context}
    page = browser.new_context(**options).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The server sends a Content-Security-Policy: anything it blocks is an error.
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(server.url, wait_until="load")
    if options.get("java_script_enabled", True):
        page.wait_for_function("document.getElementById('player').readyState >= 1")
        page.wait_for_selector(".chapter-button")
    page.errors = errors
    return page


def close(page: Any) -> None:
    assert page.errors == []
    page.context.close()


def axe_violations(page: Any, source: str, least_passes: int = 0) -> list[str]:
    """axe-core's WCAG 2.2 AA violations on the page, one line each."""
    page.evaluate(source)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                           " resultTypes: ['violations']})", AXE_TAGS)
    assert len(result["passes"]) >= least_passes, "axe-core checked almost nothing"
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}: "
            f"{', '.join(n['target'][0] for n in v['nodes'][:3])})" for v in result["violations"]]


def chapter_spans(folder: Path) -> list[tuple[str, float, float]]:
    return [(c["title"], c["start_ms"] / 1000, c["end_ms"] / 1000)
            for c in manifest(folder)["chapters"]]


def play_chapter(page: Any, number: int) -> None:
    page.locator(".chapter-button").nth(number - 1).click()
    page.wait_for_function("document.getElementById('now-playing').textContent !== ''")


@pytest.mark.browser
@pytest.mark.parametrize("setting", ["desktop", "dark", "narrow", "playing", "reduced-motion"])
def test_axe_finds_no_wcag_violations(browser: Any, server: EditionServer, axe_source: str,
                                      setting: str) -> None:
    """axe-core finds no WCAG 2.0-2.2 A/AA violation, light or dark, wide or narrow, playing."""
    context: dict[str, Any] = {
        "dark": {"color_scheme": "dark"}, "narrow": {"viewport": NARROW},
        "reduced-motion": {"reduced_motion": "reduce"}}.get(setting, {})
    page = open_page(browser, server, **context)
    if setting == "playing":
        play_chapter(page, 3)
        page.locator(".sentence-link").nth(20).focus()
    assert axe_violations(page, axe_source, least_passes=20) == []
    close(page)


@pytest.mark.browser
def test_axe_reports_a_broken_page(browser: Any, axe_source: str) -> None:
    """The axe-core harness does report violations: a page with known faults fails."""
    page = browser.new_page()
    page.set_content("<html><body><img src='x.png'><button></button>"
                     "<p style='color:#aaa;background:#fff'>faint</p></body></html>")
    violations = " ".join(axe_violations(page, axe_source))
    for rule in ("html-has-lang", "image-alt", "button-name", "color-contrast"):
        assert rule in violations
    page.close()


@pytest.mark.browser
def test_media_is_paused_on_load(browser: Any, server: EditionServer) -> None:
    """Nothing plays by itself or from a stray key: no autoplay, paused at 0 after loading."""
    page = open_page(browser, server)
    page.wait_for_timeout(300)
    state = page.evaluate("""() => { const a = document.getElementById('player');
        return {paused: a.paused, autoplay: a.hasAttribute('autoplay'), time: a.currentTime,
                status: document.getElementById('now-playing').textContent}; }""")
    assert state == {"paused": True, "autoplay": False, "time": 0, "status": ""}
    # No single-key shortcuts outside the player: keys that players often take do nothing.
    for key in ("k", "j", "l", "m", "Space", "ArrowRight", "0", "5"):
        page.keyboard.press(key)
    assert page.evaluate("""() => { const a = document.getElementById('player');
        return [a.paused, a.currentTime, a.muted]; }""") == [True, 0, False]
    close(page)


@pytest.mark.browser
def test_keyboard_path(browser: Any, server: EditionServer, article_edition: Path) -> None:
    """Tab reaches the skip link first, then a chapter button; Enter seeks there and announces."""
    spans = chapter_spans(article_edition)
    page = open_page(browser, server)
    page.evaluate("""() => { window.announcements = [];
        new MutationObserver(() => window.announcements.push(
            document.getElementById('now-playing').textContent))
            .observe(document.getElementById('now-playing'),
                     {childList: true, characterData: true, subtree: true}); }""")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    title, start, end = spans[3]  # chapter 4
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('chapter-button')") and \
                page.evaluate("document.activeElement.textContent").startswith(title):
            break
    else:
        raise AssertionError("Tab never reached the chapter button")
    clock = f"{int(start) // 60}:{int(start) % 60:02d}"
    assert page.get_by_role("button", name=f"{title}, {clock}", exact=True).evaluate(
        "button => button === document.activeElement")
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('now-playing').textContent !== ''")
    time = page.evaluate("document.getElementById('player').currentTime")
    assert start <= time < end
    assert title in page.text_content("#now-playing")
    assert page.text_content("#now-playing") == f"Chapter 4 of 7: {title}"
    current = page.locator(".chapter-button[aria-current='true']")
    assert current.count() == 1 and current.text_content().startswith(title)
    assert page.evaluate("document.activeElement.classList.contains('chapter-button')")
    # Moving within the chapter announces nothing more; entering another chapter does.
    page.get_by_role("button", name="Forward 15 seconds").click()
    page.wait_for_timeout(400)
    assert page.evaluate("window.announcements.length") == 1
    page.locator(".chapter-button").nth(5).press("Enter")
    page.wait_for_function("window.announcements.length === 2")
    assert spans[5][0] in page.text_content("#now-playing")
    close(page)


@pytest.mark.browser
def test_sentence_plays_from_its_start_without_moving_focus(
        browser: Any, server: EditionServer, article_edition: Path) -> None:
    """Enter on a sentence seeks to it, marks it current, and focus stays where it was."""
    sentences = [s for c in manifest(article_edition)["chapters"] for s in c["sentences"]]
    target = sentences[30]
    page = open_page(browser, server)
    link = page.locator(f"#{target['id']} a")
    link.focus()
    link.press("Enter")
    page.wait_for_selector(f"#{target['id']}.is-current")
    time = page.evaluate("document.getElementById('player').currentTime")
    assert target["start_ms"] / 1000 <= time < target["end_ms"] / 1000 + 1
    assert link.get_attribute("aria-current") == "true"
    assert page.evaluate("document.activeElement.parentElement.id") == target["id"]
    assert page.locator(".sentence.is-current").count() == 1
    close(page)
    # A link to the sentence opens the page with the player there, paused.
    linked = browser.new_context(viewport=DESKTOP).new_page()
    linked.goto(f"{server.url}#{target['id']}")
    linked.wait_for_selector(f"#{target['id']}.is-current")
    assert linked.evaluate("[document.getElementById('player').currentTime, "
                           "document.getElementById('player').paused]") == [
        target["start_ms"] / 1000, True]
    linked.context.close()


@pytest.mark.browser
def test_skip_buttons_and_speed(browser: Any, server: EditionServer) -> None:
    """The 15-second buttons move the position; the speed menu sets the playback rate."""
    page = open_page(browser, server)
    page.get_by_role("button", name="Forward 15 seconds").click()
    page.get_by_role("button", name="Forward 15 seconds").click()
    page.get_by_role("button", name="Back 15 seconds").click()
    assert abs(page.evaluate("document.getElementById('player').currentTime") - 15) < 0.5
    page.get_by_label("Speed").select_option("1.5")
    assert page.evaluate("document.getElementById('player').playbackRate") == 1.5
    speeds = page.eval_on_selector_all("#speed option", "os => os.map(o => o.value)")
    assert speeds[0] == "0.75" and speeds[-1] == "2"
    close(page)


@pytest.mark.browser
def test_chromium_reads_both_tracks(browser: Any, server: EditionServer,
                                    article_edition: Path) -> None:
    """Chromium parses one chapter cue per chapter and one caption cue per sentence."""
    book = manifest(article_edition)
    page = open_page(browser, server)
    counts = page.evaluate("""async () => {
        const tracks = Array.from(document.getElementById('player').textTracks);
        const count = async kind => {
            const track = tracks.find(t => t.kind === kind);
            if (track.mode === 'disabled') track.mode = 'hidden';
            for (let i = 0; i < 100 && !(track.cues && track.cues.length); i++)
                await new Promise(r => setTimeout(r, 50));
            return {mode: track.mode, cues: track.cues.length,
                    texts: Array.from(track.cues).map(c => c.text)};
        };
        return {chapters: await count('chapters'), captions: await count('captions')};
    }""")
    assert counts["chapters"]["mode"] == "hidden"
    assert counts["chapters"]["cues"] == len(book["chapters"])
    assert counts["chapters"]["texts"] == [c["title"] for c in book["chapters"]]
    assert counts["captions"]["cues"] == sum(len(c["sentences"]) for c in book["chapters"])
    close(page)


@pytest.mark.browser
def test_seeking_gets_byte_ranges(browser: Any, server: EditionServer,
                                  article_edition: Path) -> None:
    """The server answers the page's MP3 with 206 for a Range request."""
    page = open_page(browser, server)
    mp3 = f"{article_edition.name}.mp3"
    result = page.evaluate("""async url => {
        const r = await fetch(url, {headers: {Range: 'bytes=100-199'}});
        return {status: r.status, range: r.headers.get('Content-Range'),
                type: r.headers.get('Content-Type'), size: (await r.arrayBuffer()).byteLength};
    }""", mp3)
    size = (article_edition / mp3).stat().st_size
    assert result == {"status": 206, "range": f"bytes 100-199/{size}", "type": "audio/mpeg",
                      "size": 100}
    close(page)


@pytest.mark.browser
def test_without_javascript_chapters_link_their_files(browser: Any, server: EditionServer,
                                                      article_edition: Path) -> None:
    """With JavaScript off the chapter list is links to existing per-chapter MP3s."""
    page = open_page(browser, server, java_script_enabled=False)
    assert page.locator(".chapter-button").count() == 0
    hrefs = page.eval_on_selector_all(".chapter-list a", "as => as.map(a => a.href)")
    book = manifest(article_edition)
    assert hrefs == [server.url + c["file"] for c in book["chapters"]]
    for href in hrefs:
        response = page.request.get(href)
        assert response.status == 200
        assert response.headers["content-type"] == "audio/mpeg"
    assert not page.locator(".controls").is_visible()
    assert page.locator("#c03s001").text_content()
    close(page)


@pytest.mark.browser
def test_targets_focus_and_motion(browser: Any, server: EditionServer) -> None:
    """Controls are at least 24x24 px with a visible focus ring; no smooth scroll if reduced."""
    page = open_page(browser, server)
    sizes = page.eval_on_selector_all(
        "button, select, input, .download-list a, .skip-link",
        "els => els.filter(e => e.offsetParent !== null || e.classList.contains('skip-link'))"
        ".map(e => { const r = e.getBoundingClientRect(); return [e.outerHTML.slice(0, 60),"
        " r.width, r.height]; })")
    small = [s for s in sizes if s[1] < 24 or s[2] < 24]
    assert sizes and small == []
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('chapter-button')"):
            break
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert ring[0] != "none" and ring[1] >= 2
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "smooth"
    close(page)
    calm = open_page(browser, server, reduced_motion="reduce")
    assert calm.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "auto"
    close(calm)


@pytest.mark.browser
@pytest.mark.parametrize(("width", "scale"), [(640, 2), (320, 1)])
def test_zoom_and_reflow_need_no_horizontal_scroll(browser: Any, server: EditionServer,
                                                   width: int, scale: int) -> None:
    """At 200% zoom of a 1280 px window (640 CSS px) and at 320 px nothing scrolls sideways."""
    page = open_page(browser, server, viewport={"width": width, "height": 800},
                     device_scale_factor=scale)
    play_chapter(page, 4)
    overflow = page.evaluate("document.documentElement.scrollWidth - "
                             "document.documentElement.clientWidth")
    assert overflow <= 0
    close(page)


@pytest.mark.browser
def test_screenshots(browser: Any, server: EditionServer, shots: Path) -> None:
    """Screenshots of the page playing, desktop and phone, light, dark and forced colours."""
    settings = {
        "desktop": {"viewport": DESKTOP},
        "narrow": {"viewport": NARROW},
        "zoom-200": {"viewport": {"width": 640, "height": 900}, "device_scale_factor": 2},
        "dark": {"viewport": DESKTOP, "color_scheme": "dark"},
        "forced-colors": {"viewport": DESKTOP, "forced_colors": "active"},
    }
    for name, context in settings.items():
        page = open_page(browser, server, **context)
        play_chapter(page, 3)
        page.locator(".sentence-link").nth(14).click()
        page.wait_for_selector(".sentence.is-current")
        page.evaluate("document.getElementById('player').pause()")
        # Focus from the keyboard, so that the focus ring shows.
        page.locator(".chapter-button").nth(4).focus()
        page.keyboard.press("Shift+Tab")
        full = name in ("desktop", "narrow")
        if full:  # from the top, so that the sticky column sits where it starts
            page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(shots / f"{name}.png"), full_page=full)
        if not full:
            page.locator(".sentence.is-current").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{name}-transcript.png"))
        close(page)
    assert len(list(shots.glob("*.png"))) >= len(settings)
    keep = os.environ.get("AUDIOGUIDE_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, Path(keep) / png.name)


@pytest.mark.browser
@pytest.mark.parametrize("colours", ["normal", "forced"])
def test_word_highlight_follows_playback(browser: Any, server: EditionServer, axe_source: str,
                                         article_edition: Path, colours: str) -> None:
    """With "highlight each word" on (remembered across visits), the word being spoken is
    marked inside the current sentence and moves on while playing; focus stays where it
    was, nothing is a live region, axe-core finds no violation, and forced colours still
    show the mark."""
    sentences = [s for c in manifest(article_edition)["chapters"] for s in c["sentences"]]
    words = {s["id"]: [w["text"] for w in s["words"]] for s in sentences}
    context: dict[str, Any] = {"forced_colors": "active"} if colours == "forced" else {}
    page = open_page(browser, server, **context)
    assert page.locator(".word-current").count() == 0
    page.get_by_label("Highlight each word as it is spoken").check()
    page.reload(wait_until="load")
    page.wait_for_selector(".chapter-button")
    assert page.get_by_label("Highlight each word as it is spoken").is_checked()
    play_chapter(page, 3)
    page.wait_for_selector(".sentence.is-current .word-current")
    focused = page.evaluate("document.activeElement.outerHTML")
    first = page.evaluate("(() => { const w = document.querySelector('.word-current');"
                          " return [w.closest('.sentence').id, w.textContent]; })()")
    assert first[1] in words[first[0]]
    page.wait_for_function(
        "([id, text]) => { const w = document.querySelector('.word-current');"
        " return w && (w.closest('.sentence').id !== id || w.textContent !== text); }",
        arg=first, timeout=10_000)
    assert page.locator(".word-current").count() == 1
    assert page.evaluate("document.activeElement.outerHTML") == focused
    assert page.locator(".transcript [aria-live], .transcript [role=status]").count() == 0
    style = page.evaluate("""() => { const s = getComputedStyle(
        document.querySelector('.word-current'));
        return [s.outlineStyle, s.textDecorationLine, s.backgroundColor,
                getComputedStyle(document.querySelector('.sentence.is-current'))
                .backgroundColor]; }""")
    if colours == "forced":
        assert style[0] == "solid" and style[2] != style[3]
    else:
        assert "underline" in style[1] and style[2] != style[3]
    page.evaluate("document.getElementById('player').pause()")
    assert axe_violations(page, axe_source, least_passes=20) == []
    page.get_by_label("Highlight each word as it is spoken").uncheck()
    page.evaluate("document.getElementById('player').play()")
    page.wait_for_function("document.querySelectorAll('.word-current').length === 0")
    texts = page.eval_on_selector_all(".transcript .sentence", "els => els.map(e => e.textContent)")
    assert texts == [s["text"] for s in sentences]  # the marks left the text as it was
    close(page)
