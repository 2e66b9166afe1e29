"""The command line: builds options, calls the library, reports. No audio code here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .errors import AudioguideError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(error: AudioguideError) -> NoReturn:
    click.echo(f"audioguide: error: {error.format()}", err=True)
    sys.exit(error.exit_code)


def _interrupted() -> NoReturn:
    """Ctrl-C: stop the encoders and synthesis workers and leave at once.

    The library has already removed its staging folder on the way out (the published
    edition was never touched); waiting for encoders and synthesis workers to finish
    would only delay the exit.
    """
    import multiprocessing
    import signal

    from .tools import stop_all

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_all()
    for child in multiprocessing.active_children():
        child.kill()
    click.echo("audioguide: interrupted; the published edition is unchanged", err=True)
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(130)


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors and Ctrl-C into one line and an exit code, never a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except AudioguideError as error:
            _fail(error)
        except KeyboardInterrupt:
            _interrupted()

    return wrapper


class _Reporter:
    """Progress as a bar on a terminal; otherwise a few plain lines (screen readers, CI)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.last: tuple[str, int] = ("", -1)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            width = 30
            filled = width * done // total if total else 0
            bar = "#" * filled + "-" * (width - filled)
            count = f"{done}/{total}" if total else ""
            click.echo(f"\r{stage:<16} [{bar}] {count:<12}", nl=done >= total, err=True)
            return
        # Plain: the start of a stage and every quarter of it, nothing more.
        quarter = 4 * done // total if total else 0
        if (stage, quarter) != self.last:
            self.last = (stage, quarter)
            suffix = f" {done}/{total}" if total else ""
            click.echo(f"{stage}{suffix}", err=True)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def _clock(ms: int) -> str:
    seconds = round(ms / 1000)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="audioguide")
def main() -> None:
    """Turn a narration script into an accessible audio edition."""


@main.command()
@click.argument("scripts", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("audio"),
              show_default=True, help="Folder that receives one <slug>/ folder per script.")
@click.option("-f", "--format", "formats", multiple=True, metavar="NAME",
              help="Write only this output (repeatable); default: every format.")
@click.option("--engine", help="Speech engine (default: pyttsx3; 'fake' writes test tones).")
@click.option("--voice", help="Voice id or language, e.g. en-us (see `audioguide voices`).")
@click.option("--rate", type=click.IntRange(80, 450), help="Speaking rate in words per minute.")
@click.option("--volume", type=click.FloatRange(0, 1, min_open=True), help="Engine volume.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=os.cpu_count() or 1,
              show_default=True, help="Parallel synthesis and encoding workers.")
@click.option("--force", is_flag=True, help="Render even if the published edition is fresh.")
@click.option("--check", is_flag=True,
              help="Render nothing; exit 1 if an edition is stale against its script.")
@click.option("--cache", type=click.Path(path_type=Path),
              help="Clip cache folder (default: $AUDIOGUIDE_CACHE or ~/.cache/audioguide).")
@click.option("-q", "--quiet", is_flag=True, help="No progress, only the summary.")
@click.option("--base-url", metavar="URL",
              help="Where OUTPUT will be served, for the podcast feed (default: "
                   "$AUDIOGUIDE_BASE_URL, or base_url in audioguide.toml).")
@_guarded
def render(scripts: tuple[Path, ...], output: Path, formats: tuple[str, ...],
           engine: str | None, voice: str | None, rate: int | None, volume: float | None,
           jobs: int, force: bool, check: bool, cache: Path | None, quiet: bool,
           base_url: str | None) -> None:
    """Render SCRIPTS (default: every script/*.md) into OUTPUT/<slug>/.

    Then rebuild the library files beside them (see `audioguide publish`).
    """
    from .errors import StaleError, UsageError
    from .library import CONFIG, load_settings, publish_library
    from .render import RenderOptions, default_scripts, render_all
    from .render import check as check_edition

    paths = list(scripts) or default_scripts()
    if not paths:
        raise UsageError("no scripts given and none found in script/; give a script path")
    options = RenderOptions(output=output, formats=formats, engine=engine, voice=voice,
                            rate=rate, volume=volume, jobs=jobs, force=force,
                            **({"cache": cache} if cache else {}))
    if check:
        # The report goes to stdout; stderr gets the one error line, naming the first
        # stale script and why.
        stale: list[tuple[Path, str]] = []
        for path in paths:
            problems = check_edition(path, options)
            for problem in problems:
                click.echo(f"{path}: stale: {problem}")
            if problems:
                stale.append((path, problems[0]))
            else:
                click.echo(f"{path}: fresh")
        if stale:
            path, problem = stale[0]
            others = f" ({len(stale) - 1} more scripts are too)" if len(stale) > 1 else ""
            raise StaleError(f"the published edition is stale{others}: {problem}; run "
                             "`audioguide render` and commit audio/", path=path)
        return
    settings = load_settings(Path(CONFIG), base_url)
    for result in render_all(paths, options, _Reporter(quiet)):
        if result.fresh:
            click.echo(f"{result.folder}: up to date (nothing to do)")
            continue
        stats = result.stats
        click.echo(f"{result.folder}: rendered in {result.seconds:.1f} s; "
                   f"{stats.synthesized if stats else 0} of {stats.clips if stats else 0} "
                   f"sentences synthesized, {result.encoded_chapters} chapters encoded; "
                   f"loudness {result.target_lufs:.1f} LUFS (mastered at "
                   f"{result.loudness_lufs:.1f} before encoding)")
        for report in result.files:
            length = f"{_clock(report.duration_ms):>8}" if report.duration_ms else " " * 8
            click.echo(f"  {length}  {_size(report.bytes):>9}  {report.name}")
    _report_library(publish_library(output, settings))


def _report_library(result: Any) -> None:
    written = ", ".join(result.written) or "nothing changed"
    editions = f"{result.editions} edition" + ("s" if result.editions != 1 else "")
    click.echo(f"{result.folder}: library of {editions} ({written})")
    if result.note:
        click.echo(f"audioguide: note: {result.note}", err=True)


@main.command()
@click.argument("output", required=False, default=Path("audio"),
                type=click.Path(path_type=Path))
@click.option("--base-url", metavar="URL",
              help="Where OUTPUT will be served, for the podcast feed (default: "
                   "$AUDIOGUIDE_BASE_URL, or base_url in audioguide.toml).")
@_guarded
def publish(output: Path, base_url: str | None) -> None:
    """Rebuild the library of OUTPUT (default: audio/) from its editions' manifests.

    It writes index.html, catalog.xml (OPDS) and, with a base URL, feed.xml (podcast).
    """
    from .library import CONFIG, load_settings, publish_library

    _report_library(publish_library(output, load_settings(Path(CONFIG), base_url)))


@main.command()
@click.option("--engine", default="pyttsx3", show_default=True, help="Speech engine.")
@_guarded
def voices(engine: str) -> None:
    """List the voices the speech engine offers."""
    from . import engines

    speaker = engines.create(engine)
    speaker.check()
    for info in speaker.voices():
        click.echo(f"{info.id}\t{', '.join(info.languages)}\t{info.name}")


@main.command()
@click.argument("folder", required=False, default=Path("audio"),
                type=click.Path(path_type=Path))
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default keeps the server to this computer.")
@click.option("-q", "--quiet", is_flag=True, help="Do not log each request.")
@_guarded
def serve(folder: Path, port: int, host: str, quiet: bool) -> None:
    """Preview FOLDER (default: audio/) in a browser, with seeking, until Ctrl-C.

    Served, the output folder's podcast feed gives this server's own addresses.
    """
    from .library import CONFIG, load_settings
    from .server import serve as serve_folder

    def ready(url: str) -> None:
        click.echo(f"serving {folder} at {url} (press Ctrl-C to stop)")

    def log(line: str) -> None:
        click.echo(line, err=True)

    try:
        serve_folder(folder, host, port, ready=ready, log=None if quiet else log,
                     library=load_settings(Path(CONFIG), environ={}))
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


if __name__ == "__main__":
    main()
