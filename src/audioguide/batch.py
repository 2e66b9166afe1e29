"""Many scripts at once: side by side on one machine, and split into shards across many.

A render of several scripts runs them in worker processes, as many at a time as `jobs`
allows, and gives each a share of `jobs` for its own synthesis workers and encoders,
so the whole render never runs more than `jobs` of them. Each edition is still
published on its own (staged, locked, swapped into place); a script that fails is
reported with its file and the others go on.

A shard (`I/N`) is the scripts whose stable key, a hash of the slug, falls in part I
of N: every machine given the same scripts and its own I renders its part, with no
coordinator. The library files are left to a last step (`audioguide publish`).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import AudioguideError, UsageError
from .names import slugify
from .render import Progress, RenderOptions, RenderResult, check, render, voice_for
from .script import parse_script

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Part `index` (from 1) of `count`."""

    index: int
    count: int

    def holds(self, slug: str) -> bool:
        """Whether the edition with this slug is rendered by this shard."""
        return shard_of(slug, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(slug: str, count: int) -> int:
    """The shard (from 1) of `count` that renders the edition `slug`: the same on every
    machine, for every Python version, whatever the other scripts are."""
    digest = hashlib.sha256(slug.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse_shard(text: str) -> Shard:
    """`I/N` with 1 <= I <= N, such as 2/3."""
    match = _SHARD.match(text)
    index, count = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard takes I/N, part I of N with 1 <= I <= N, such as 2/3 "
                         f"(got {text!r})")
    return Shard(index, count)


@dataclass(frozen=True)
class Failure:
    """A script that could not be rendered: its one-line error, naming the file."""

    script: Path
    message: str
    exit_code: int = 1


Outcome = RenderResult | Failure


def select(paths: list[Path], shard: Shard | None) -> tuple[list[Path], list[Failure]]:
    """The scripts to render (those of the shard), in order, and those that do not parse.

    Two scripts that would publish into one edition folder are refused before any work,
    whichever shards they fall in. A script that does not parse is reported by the shard
    its file name falls in (its slug is unknown), and does not stop the others.
    """
    chosen: list[Path] = []
    failures: list[Failure] = []
    seen: dict[str, Path] = {}
    for path in dict.fromkeys(paths):
        try:
            slug = parse_script(path).slug
        except AudioguideError as error:
            if shard is None or shard.holds(slugify(path.stem)):
                failures.append(Failure(path, error.format(), error.exit_code))
            continue
        if slug in seen and seen[slug].resolve() != path.resolve():
            raise UsageError(f"publishes into the same edition folder {slug!r} as "
                             f"{seen[slug]}; give one of them its own `slug:` in the front matter",
                             path=path)
        seen.setdefault(slug, path)
        if shard is None or shard.holds(slug):
            chosen.append(path)
    return chosen, failures


def render_many(paths: list[Path], options: RenderOptions, finished: Callable[[Outcome], None],
                progress: Progress | None = None) -> list[Outcome]:
    """Render `paths` side by side, calling `finished` as each edition is done (or fails).

    Fresh editions are found here, without starting a worker. When one script has work,
    it is rendered here with every job and `progress`; several are rendered in worker
    processes (or here, one after another, with one job) without progress: their stages
    would interleave. The outcomes come back in the order of `paths`.
    """
    outcomes: dict[Path, Outcome] = {}

    def done(path: Path, outcome: Outcome) -> None:
        outcomes[path] = outcome
        finished(outcome)

    stale: list[Path] = []
    for path in paths:
        fresh = _fresh(path, options)
        if isinstance(fresh, Failure) or fresh is not None:
            done(path, fresh)
        else:
            stale.append(path)
    if len(stale) == 1:
        done(stale[0], _render_here(stale[0], options, progress))
    elif options.jobs == 1:  # one at a time: no worker to start
        for path in stale:
            done(path, _render_here(path, options, None))
    elif stale:
        _render_in_workers(stale, options, done)
    return [outcomes[path] for path in paths if path in outcomes]


def _fresh(path: Path, options: RenderOptions) -> RenderResult | Failure | None:
    """The result of a render of `path` when its edition is fresh; None when it has work."""
    if options.force:
        return None
    try:
        found = check(path, options)
    except AudioguideError as error:
        return _failure(path, error)
    return None if found.problems else RenderResult(path, found.folder, fresh=True)


def _render_here(path: Path, options: RenderOptions, progress: Progress | None) -> Outcome:
    try:
        return render(path, options, progress, report_cache=False)
    except AudioguideError as error:
        return _failure(path, error)


def _render_in_workers(paths: list[Path], options: RenderOptions,
                       done: Callable[[Path, Outcome], None]) -> None:
    """At most `jobs` scripts at a time, each with its share of the jobs."""
    workers = max(1, min(options.jobs, len(paths)))
    share = replace(options, jobs=max(1, options.jobs // workers))
    modules = sorted(_engine_modules(paths, options))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_worker_start, initargs=(modules,)) as pool:
        running: dict[Future[Outcome], Path] = {
            pool.submit(_render_here, path, share, None): path for path in paths}
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                path = running.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - one script's crash, not the others'
                    outcome = Failure(path, f"{path}: the render stopped unexpectedly "
                                            f"({type(exc).__name__}: {exc})")
                done(path, outcome)


def _engine_modules(paths: list[Path], options: RenderOptions) -> set[str]:
    """The modules defining the scripts' engines: a worker imports them, so that an engine
    registered by another package (or a test) is known there too."""
    from . import engines

    names = {options.engine} if options.engine else set()
    for path in paths:
        try:
            names.add(voice_for(parse_script(path), options).engine)
        except AudioguideError:
            continue
    modules = set()
    for name in names:
        try:
            modules.add(type(engines.create(name)).__module__)
        except AudioguideError:
            continue  # the render names the unknown engine
    return modules


def _worker_start(modules: list[str]) -> None:
    """A worker dies with the render that started it, and knows its engines."""
    import importlib

    from .tools import die_with_parent

    die_with_parent()
    for module in modules:
        importlib.import_module(module)


def _failure(path: Path, error: AudioguideError) -> Failure:
    message = error.format() if error.path is not None else f"{path}: {error.message}"
    return Failure(path, message, error.exit_code)
