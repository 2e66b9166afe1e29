"""The command line: builds options, calls the library, reports. No audio code here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__, units
from .errors import AudioguideError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(error: AudioguideError) -> NoReturn:
    click.echo(f"audioguide: error: {error.format()}", err=True)
    sys.exit(error.exit_code)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, unwound like Ctrl-C so that the library removes its staging folder."""


def _stop_children() -> None:
    import multiprocessing

    from .tools import stop_all

    stop_all()
    for child in multiprocessing.active_children():
        child.kill()


def _on_sigterm(signum: int, frame: object) -> None:
    # The encoders and workers go first: the unwinding then has nothing to wait for.
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _stop_children()
    raise _Terminated


def _interrupted(terminated: bool) -> NoReturn:
    """Ctrl-C or SIGTERM: stop the encoders and synthesis workers and leave at once.

    The library has already removed its staging folder on the way out (the published
    edition was never touched); waiting for encoders and synthesis workers to finish
    would only delay the exit.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _stop_children()
    what = "terminated" if terminated else "interrupted"
    click.echo(f"audioguide: {what}; the published edition is unchanged", err=True)
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(143 if terminated else 130)


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors, Ctrl-C and SIGTERM into one line and an exit code,
    never a traceback."""
    import functools
    import signal
    import threading

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main else None
        try:
            return function(*args, **kwargs)
        except AudioguideError as error:
            _fail(error)
        except KeyboardInterrupt as interrupt:
            _interrupted(isinstance(interrupt, _Terminated))
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)

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



_SCRIPTS = click.argument("scripts", nargs=-1, type=click.Path(path_type=Path))
_FORMATS = click.option("-f", "--format", "formats", multiple=True, metavar="NAME",
                        help="Only this output (repeatable); default: every format.")
_CACHE = click.option("--cache", type=click.Path(path_type=Path),
                      help="Clip cache folder (default: $AUDIOGUIDE_CACHE or "
                           "~/.cache/audioguide).")
_SHARD = click.option("--shard", metavar="I/N", envvar="AUDIOGUIDE_SHARD",
                      help="Only part I of N of the scripts (by a hash of each slug), for N "
                           "machines sharing OUTPUT and the cache (default: $AUDIOGUIDE_SHARD).")


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="audioguide")
def main() -> None:
    """Turn a narration script into an accessible audio edition."""


@main.command()
@_SCRIPTS
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("audio"),
              show_default=True, help="Folder that receives one <slug>/ folder per script.")
@_FORMATS
@click.option("--engine", help="Speech engine (default: pyttsx3; 'fake' writes test tones).")
@click.option("--voice", help="Voice id or language, e.g. en-us (see `audioguide voices`).")
@click.option("--rate", type=click.IntRange(80, 450), help="Speaking rate in words per minute.")
@click.option("--volume", type=click.FloatRange(0, 1, min_open=True), help="Engine volume.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=os.cpu_count() or 1,
              show_default=True,
              help="Synthesis and encoding workers in all, across the scripts rendered at once.")
@click.option("--force", is_flag=True, help="Render even if the published edition is fresh.")
@click.option("--check", is_flag=True,
              help="Render nothing; exit 1 if an edition is stale against its script.")
@_CACHE
@click.option("-q", "--quiet", is_flag=True, help="No progress, only the summary.")
@click.option("--base-url", metavar="URL",
              help="Where OUTPUT will be served, for the podcast feed (default: "
                   "$AUDIOGUIDE_BASE_URL, or base_url in audioguide.toml).")
@_SHARD
@_guarded
def render(scripts: tuple[Path, ...], output: Path, formats: tuple[str, ...],
           engine: str | None, voice: str | None, rate: int | None, volume: float | None,
           jobs: int, force: bool, check: bool, cache: Path | None, quiet: bool,
           base_url: str | None, shard: str | None) -> None:
    """Render SCRIPTS (default: every script/*.md) into OUTPUT/<slug>/.

    Several scripts are rendered side by side, JOBS workers in all; each edition is
    published on its own, and one that fails does not stop the others (exit 1 after
    them). Then the library files beside them are rebuilt (see `audioguide publish`),
    except by a shard.
    """
    from .batch import parse_shard, select
    from .errors import UsageError
    from .library import CONFIG, load_settings
    from .render import RenderOptions, default_scripts

    part = parse_shard(shard) if shard else None
    paths = list(dict.fromkeys(scripts)) or default_scripts()
    if not paths:
        raise UsageError("no scripts given and none found in script/; give a script path")
    options = RenderOptions(output=output, formats=formats, engine=engine, voice=voice,
                            rate=rate, volume=volume, jobs=jobs, force=force,
                            **({"cache": cache} if cache else {}))
    chosen, failures = select(paths, part)
    if check:
        _check_editions(chosen, failures, options)
        return
    settings = load_settings(Path(CONFIG), base_url)
    if len(paths) == 1 and part is None:
        _render_one(paths[0], options, quiet)  # its error, if any, is the command's
    else:
        _render_many(chosen, failures, options, quiet, part)
    if part is None:
        from .library import publish_library

        _report_library(publish_library(output, settings))
    else:
        click.echo(f"audioguide: note: shard {part} leaves the library files alone; when every "
                   f"shard is done, run `audioguide publish {output}`", err=True)
    if failures:
        _fail_many(failures, len(paths) if part is None else None)


def _check_editions(paths: list[Path], failures: list[Any], options: Any) -> None:
    """`render --check`: the report to stdout; stderr gets the one error line, naming the
    first stale script and why."""
    from .errors import StaleError
    from .render import check as check_edition

    if failures:
        click.echo(f"audioguide: error: {failures[0].message}", err=True)
        sys.exit(failures[0].exit_code)
    stale: list[tuple[Path, str]] = []
    for path in paths:
        found = check_edition(path, options)
        for problem in found.problems:
            click.echo(f"{path}: stale: {problem}")
        if found.problems:
            stale.append((path, found.problems[0]))
        else:
            click.echo(f"{path}: fresh")
        if found.user_files:
            click.echo(f"{path}: the edition folder also holds files audioguide did not "
                       f"write (a render keeps them): {', '.join(found.user_files)}")
    if stale:
        path, problem = stale[0]
        others = f" ({len(stale) - 1} more scripts are too)" if len(stale) > 1 else ""
        raise StaleError(f"the published edition is stale{others}: {problem}; run "
                         "`audioguide render` and commit audio/", path=path)


def _render_one(path: Path, options: Any, quiet: bool) -> None:
    """One script: progress as it goes, then every file written."""
    from .render import render as render_script

    result = render_script(path, options, _Reporter(quiet))
    click.echo(_outcome_line(result))
    if result.fresh:
        return
    for report in result.files:
        length = f"{units.length(report.duration_ms):>8}" if report.duration_ms else " " * 8
        click.echo(f"  {length}  {units.size_column(report.bytes):>9}  {report.name}")
    # Notes after the file list, not indented like it.
    if result.shared:
        click.echo(f"shared: {units.size_column(result.shared)} saved by storing "
                   "identical audio files once (hard links)")
    if result.kept:
        click.echo(f"kept: {len(result.kept)} files that audioguide did not write: "
                   f"{', '.join(result.kept)}")
    if result.cache:
        click.echo(f"cache: {result.cache.root} holds {units.size_column(result.cache.bytes)} "
                   "(see `audioguide cache`)")


def _render_many(paths: list[Path], failures: list[Any], options: Any, quiet: bool,
                 part: Any) -> None:
    """Several scripts side by side: one line per edition as it is finished, then a total.

    No progress bars: the stages of editions rendered at once would interleave.
    """
    import time

    from .batch import Failure, render_many
    from .cache import usage

    started = time.monotonic()
    for failure in failures:
        click.echo(f"audioguide: error: {failure.message}", err=True)
    if part is not None:
        click.echo(f"shard {part}: {len(paths)} scripts", err=True)

    def finished(outcome: Any) -> None:
        if isinstance(outcome, Failure):
            failures.append(outcome)
            click.echo(f"audioguide: error: {outcome.message}", err=True)
        else:
            click.echo(_outcome_line(outcome))

    outcomes = render_many(paths, options, finished, None if quiet else _Reporter(quiet))
    rendered = sum(not isinstance(o, Failure) and not o.fresh for o in outcomes)
    fresh = sum(not isinstance(o, Failure) and o.fresh for o in outcomes)
    click.echo(f"{rendered + fresh + len(failures)} editions: {rendered} rendered, {fresh} up "
               f"to date, {len(failures)} failed, in {time.monotonic() - started:.1f} s")
    if rendered:
        found = usage(options.cache)
        click.echo(f"cache: {found.root} holds {units.size_column(found.bytes)} "
                   "(see `audioguide cache`)")


def _outcome_line(result: Any) -> str:
    if result.fresh:
        return f"{result.folder}: up to date (nothing to do)"
    stats = result.stats
    return (f"{result.folder}: rendered in {result.seconds:.1f} s; "
            f"{stats.synthesized if stats else 0} of {stats.clips if stats else 0} "
            f"sentences synthesized, {result.encoded_chapters} chapters encoded; "
            f"loudness {result.target_lufs:.1f} LUFS (mastered at "
            f"{result.loudness_lufs:.1f} before encoding)")


def _fail_many(failures: list[Any], total: int | None, what: str = "failed") -> None:
    from .errors import AudioguideError

    of = f" of {total}" if total else ""
    rest = "the other editions are published" if what == "failed" else "the others are above"
    _fail(AudioguideError(f"{len(failures)}{of} scripts {what} (each named above); {rest}"))


def _report_library(result: Any) -> None:
    written = ", ".join(result.written) or "nothing changed"
    editions = f"{result.editions} edition" + ("s" if result.editions != 1 else "")
    click.echo(f"{result.folder}: library of {editions} ({written})")
    if result.note:
        click.echo(f"audioguide: note: {result.note}", err=True)


@main.command()
@_SCRIPTS
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("audio"),
              show_default=True, help="Folder holding the published <slug>/ folders.")
@_FORMATS
@click.option("--engine", help="Plan for this speech engine instead of the scripts' own.")
@click.option("--voice", help="Plan for this voice instead of the scripts' own.")
@click.option("--rate", type=click.IntRange(80, 450), help="Plan for this speaking rate.")
@_CACHE
@_SHARD
@_guarded
def plan(scripts: tuple[Path, ...], output: Path, formats: tuple[str, ...],
         engine: str | None, voice: str | None, rate: int | None, cache: Path | None,
         shard: str | None) -> None:
    """Say what rendering SCRIPTS (default: script/*.md) would do, without doing it.

    For each edition: fresh or stale and why, the sentences to synthesize and segments to
    encode (what the cache lacks), and the CPU time at this machine's measured rates;
    then a total. --engine, --voice and --rate answer what such a change would cost.
    """
    from .batch import parse_shard, select
    from .errors import UsageError
    from .narrate import default_cache_dir
    from .plan import plan as plan_edition
    from .rates import read
    from .render import RenderOptions, default_scripts

    part = parse_shard(shard) if shard else None
    paths = list(dict.fromkeys(scripts)) or default_scripts()
    if not paths:
        raise UsageError("no scripts given and none found in script/; give a script path")
    options = RenderOptions(output=output, formats=formats, engine=engine, voice=voice,
                            rate=rate, cache=cache or default_cache_dir())
    chosen, failures = select(paths, part)
    for failure in failures:
        click.echo(f"audioguide: error: {failure.message}", err=True)
    measured = read(options.cache)
    plans = [plan_edition(path, options, measured) for path in chosen]
    for found in plans:
        click.echo(_plan_line(found))
    stale = [p for p in plans if not p.fresh]
    cpu = [p.cpu_s for p in stale]
    cost = ("no estimate yet" if None in cpu else
            f"about {units.rough(round(1000 * sum(c or 0.0 for c in cpu)))} of CPU on this machine")
    click.echo(f"total: {len(plans)} edition{'' if len(plans) == 1 else 's'}, {len(stale)} stale; "
               f"{sum(p.to_synthesize for p in stale)} sentences to synthesize, "
               f"{sum(p.to_encode for p in stale)} segments to encode; {cost}")
    if None in cpu:
        engines = sorted({p.engine for p in stale if p.cpu_s is None})
        click.echo(f"no estimate yet: no render with the {', '.join(engines)} engine has been "
                   f"timed on this machine with the cache {options.cache}; render one script "
                   "and plan again", err=True)
    if failures:
        _fail_many(failures, len(paths) if part is None else None, "could not be planned")


def _plan_line(found: Any) -> str:
    if found.fresh:
        notes = "".join(f"; note: {note}" for note in found.notes)
        return f"{found.script}: fresh (nothing to do){notes}"
    cost = ("no estimate yet" if found.cpu_s is None
            else f"about {units.rough(round(found.cpu_s * 1000))} of CPU")
    notes = "".join(f"; note: {note}" for note in found.notes)
    return (f"{found.script}: stale ({'; '.join(found.reasons)}): {found.to_synthesize} of "
            f"{found.sentences} sentences to synthesize, {found.to_encode} of {found.segments} "
            f"segments to encode ({units.rough(found.encode_ms)} of audio); {cost}{notes}")


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
@click.argument("source")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Script to write (default: script/<title>.md).")
@click.option("--force", is_flag=True, help="Replace the script if it already exists.")
@click.option("--keep-alt", is_flag=True,
              help="Keep images' alt text as sentences (left out by default).")
@_guarded
def init(source: str, output: Path | None, force: bool, keep_alt: bool) -> None:
    """Draft a narration script from an article: plain text, Markdown or HTML.

    SOURCE is a file, or - for standard input. Headings become chapters, the text
    before the first heading an opening chapter; what only the author can write is
    marked [TO WRITE: ...], and render refuses the script until it is written. What
    was guessed is listed on standard error, with the source line to check.
    """
    from .draft import default_target, draft, write_draft
    from .errors import UsageError

    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise UsageError("no such article file; check the path" if not path.exists()
                             else "is not a file; give the article's file", path=path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise UsageError("is not UTF-8 text; save it as UTF-8", path=path) from None
        except OSError as exc:
            raise UsageError(f"cannot read the article ({exc.strerror})", path=path) from None
    if not text.strip():
        raise UsageError("the article is empty", path=None if source == "-" else source)
    result = draft(text, source, keep_alt=keep_alt)
    target = output or default_target(result, source)
    write_draft(result.text, target, force)
    for line, note in result.notes:
        click.echo(f"{source}:{line}: {note}" if line else f"{source}: {note}", err=True)
    click.echo(f"{target}: drafted {len(result.chapters)} chapters from {source} "
               f"({', '.join(result.chapters)}), plus Content note and Credits; write the "
               f"{result.placeholders} [TO WRITE: ...] placeholders, then run "
               f"`audioguide check {target}`", err=True)


@main.command()
@click.argument("scripts", nargs=-1, type=click.Path(path_type=Path))
@click.option("--spoken", is_flag=True,
              help="Print each sentence as it will be spoken instead of the findings.")
@click.option("--strict", is_flag=True,
              help="Exit 1 when a word to listen to, a heteronym or an unused lexicon entry "
                   "remains.")
@click.option("--export-pls", type=click.Path(path_type=Path), metavar="FILE",
              help="Write the script's lexicon as a W3C PLS file instead of checking.")
@click.option("--engine", help="Check what this speech engine will be sent (default: each "
                               "script's own).")
@_guarded
def check(scripts: tuple[Path, ...], spoken: bool, strict: bool,
          export_pls: Path | None, engine: str | None) -> None:
    """Find what the voice will misread in SCRIPTS (default: script/*.md).

    One line per finding, `file:line: written -> spoken (why)`: every change the
    normalization makes, every lexicon hit, every word espeak-ng reads by its spelling
    rules or letter by letter (names, brands, foreign words: listen to these),
    heteronyms, and lexicon entries never used. Exit 0 when the check ran. With
    --engine, the spoken form is that engine's (Piper's rules differ from espeak-ng's).
    """
    from .check import check_script, spoken_lines
    from .errors import CheckError, UsageError
    from .render import default_scripts

    paths = list(scripts) or default_scripts()
    if not paths:
        raise UsageError("no scripts given and none found in script/; give a script path")
    if export_pls is not None:
        from . import pls
        from .script import parse_script

        if len(paths) != 1:
            raise UsageError("--export-pls writes one script's lexicon; give one script")
        script = parse_script(paths[0])
        pls.write(script.lexicon, script.language, export_pls)
        click.echo(f"{export_pls}: {len(script.lexicon)} lexicon entries of {paths[0]}", err=True)
        return
    unresolved: list[tuple[Path, int]] = []
    for path in paths:
        script, found = check_script(path, engine)
        lines = spoken_lines(script) if spoken else [f.format() for f in found]
        for line in lines:
            click.echo(line)
        to_resolve = sum(f.unresolved for f in found)
        click.echo(f"{path}: {len(found)} findings, {to_resolve} to resolve", err=True)
        if to_resolve:
            unresolved.append((path, to_resolve))
    if strict and unresolved:
        path, count = unresolved[0]
        raise CheckError(f"{count} findings to resolve: listen to each, then add a lexicon "
                         "entry (one that maps a word to itself marks it as checked)", path=path)


@main.command()
@click.argument("text")
@click.option("-s", "--script", type=click.Path(path_type=Path),
              help="Speak with this script's voice, rate and lexicon (default: en-US voice).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write a WAV file instead of playing on the sound device.")
@click.option("--engine", help="Speech engine (default: the script's, pyttsx3).")
@click.option("--cache", type=click.Path(path_type=Path),
              help="Clip cache folder (default: $AUDIOGUIDE_CACHE or ~/.cache/audioguide).")
@_guarded
def say(text: str, script: Path | None, output: Path | None, engine: str | None,
        cache: Path | None) -> None:
    """Speak TEXT, one sentence, as a script would: to check a fix by ear."""
    from .narrate import default_cache_dir
    from .say import say as say_text
    from .script import parse_script

    parsed = parse_script(script) if script is not None else None
    said = say_text(text, parsed, engine, cache or default_cache_dir(), output)
    click.echo(f"spoken: {said.spoken}")
    if output is not None:
        click.echo(f"{output}: {said.duration_ms / 1000:.1f} s")


@main.group(invoke_without_command=True)
@click.option("--cache", "root", type=click.Path(path_type=Path),
              help="Cache folder (default: $AUDIOGUIDE_CACHE or ~/.cache/audioguide).")
@click.pass_context
@_guarded
def cache(context: click.Context, root: Path | None) -> None:
    """Show the size of the render cache; `prune` removes what is not needed."""
    from .narrate import default_cache_dir

    context.obj = root or default_cache_dir()
    if context.invoked_subcommand is None:
        from .cache import usage

        found = usage(context.obj)
        unfinished = ""
        if found.unfinished == 1:
            unfinished = ("; 1 unfinished file of a stopped render (prune removes it after an "
                          "hour)")
        elif found.unfinished:
            unfinished = (f"; {found.unfinished} unfinished files of stopped renders (prune "
                          "removes them after an hour)")
        click.echo(f"{found.root}: {units.size_column(found.bytes)} in {found.clips} clips and "
                   f"{found.segments} encoded segments{unfinished}")


@cache.command()
@click.option("-o", "--output", "outputs", multiple=True, type=click.Path(path_type=Path),
              help="Keep what the editions in this folder use (repeatable; default: audio).")
@click.option("--older-than", "days", type=click.FloatRange(0), metavar="DAYS",
              help="Instead, remove what no render has used for DAYS days.")
@click.option("--max-size", metavar="SIZE",
              help="Instead, remove the least recently used until the cache is SIZE (500MB).")
@click.option("-n", "--dry-run", is_flag=True, help="Say what would go, remove nothing.")
@click.pass_obj
@_guarded
def prune(root: Path, outputs: tuple[Path, ...], days: float | None, max_size: str | None,
          dry_run: bool) -> None:
    """Remove cached clips and encodes that no published edition in OUTPUT uses."""
    from .cache import parse_size
    from .cache import prune as prune_cache

    done = prune_cache(root, outputs=outputs or (Path("audio"),),
                       older_than_s=days * 86400 if days is not None else None,
                       max_bytes=parse_size(max_size) if max_size is not None else None,
                       dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{root}: {verb} {done.removed} entries ({units.size_column(done.freed)}); "
               f"{units.size_column(done.left.bytes)} left in {done.left.clips} clips and "
               f"{done.left.segments} encoded segments")


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
