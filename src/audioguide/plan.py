"""What a render would do, and what it would cost, without doing any of it.

For each script: whether its edition is fresh (the same test a render makes: the input
key and the files), and if not, why (what changed among the inputs the manifest
records), how many sentences have no clip in the cache, how many segments no encode,
and the CPU time that takes at this machine's recorded rates. Nothing is synthesized,
encoded or written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__, engines, rates, timeline
from .encode import EncodeCache, segment_key
from .framing import SAMPLE_RATE, pcm_frames
from .model import Clip, Script, Voice
from .narrate import ClipCache, sentence_keys
from .publish import manifest as manifest_file
from .render import RenderOptions, key_inputs, key_of, read_for, resolve_formats

# A missing clip's length, for cutting the programme into segments: about six characters
# a word at the voice's words per minute.
CHARACTERS_PER_WORD = 6
DEFAULT_RATE_WPM = 175


@dataclass(frozen=True)
class EditionPlan:
    """What a render of one script would do."""

    script: Path
    folder: Path
    engine: str  # the engine's name
    fresh: bool
    reasons: tuple[str, ...] = ()  # why it is stale
    notes: tuple[str, ...] = ()  # what changed that does not make it stale
    sentences: int = 0  # distinct spoken sentences
    to_synthesize: int = 0
    characters: int = 0  # of the sentences to synthesize
    segments: int = 0
    to_encode: int = 0
    encode_ms: int = 0  # audio in the segments to encode
    cpu_s: float | None = 0.0  # None: no rate recorded on this machine for this work


def plan(script_path: Path, options: RenderOptions, measured: rates.Rates) -> EditionPlan:
    """What `render` would do with `script_path` and `options`."""
    script, voice = read_for(script_path, options)
    formats = resolve_formats(options.formats)
    inputs = key_inputs(script, voice, formats)
    folder = options.output / script.slug
    previous = manifest_file.read_manifest(folder)
    engine = engines.create(voice.engine)
    identity = engine.identity(voice)
    notes = tuple(_notes(previous, inputs, identity))
    problems = manifest_file.problems(folder, key_of(inputs))
    if not problems and not options.force:
        return EditionPlan(script_path, folder, voice.engine, fresh=True, notes=notes)
    reasons = tuple(_reasons(previous, inputs, script, problems, options.force))
    store = ClipCache(options.cache)
    planned = sentence_keys(script, voice, engine)
    keys = {sentence: planned[sentence].clip for sentence in planned}
    cached = {key: store.get(key) for key in set(keys.values())}
    # What narration would synthesize: each run of a sentence whose clip is missing, once.
    runs = {key: spoken for entry in planned.values() if cached[entry.clip] is None
            for key, spoken, _ in entry.runs}
    to_speak = {key: spoken for key, spoken in runs.items() if store.get(key) is None}
    characters = sum(len(spoken) for spoken in to_speak.values())
    segments, to_encode, encode_ms = _encodes(script, voice, keys, cached, options, previous)
    cpu = measured.estimate(voice.engine, characters, encode_ms / 1000, 1)
    return EditionPlan(script_path, folder, voice.engine, False, reasons, notes,
                       len({key for entry in planned.values() for key, _, _ in entry.runs}),
                       len(to_speak), characters, segments, to_encode, encode_ms, cpu)


def _encodes(script: Script, voice: Voice, keys: dict[str, str],
             cached: dict[str, Clip | None], options: RenderOptions,
             previous: dict[str, Any] | None) -> tuple[int, int, int]:
    """Segments in all, segments to encode, and the audio they hold (ms).

    A missing clip is given the length its text would have at the voice's rate, so the
    programme can be cut into segments; a segment holding one is encoded. The others
    are looked up at the previous edition's gain, which a render keeps while it still
    fits (with no previous edition, the gain is still to be measured: all are encoded).
    """
    ms_per_character = 60_000 / ((voice.rate or DEFAULT_RATE_WPM) * CHARACTERS_PER_WORD)
    missing = {key for key, clip in cached.items() if clip is None}
    made: dict[str, Clip] = {}
    for sentence in script.sentences():
        if sentence.spoken:
            key = keys[sentence.id]
            made[sentence.id] = cached[key] or Clip(key, Path(), pcm_frames(
                round(len(sentence.spoken) * ms_per_character)), SAMPLE_RATE)
    units = [segment for index, pieces in enumerate(timeline.plan(script, made))
             for segment in timeline.segments(index, pieces)]
    pads = [pad for index in range(len(script.chapters)) for pad in timeline.pads(script, index)
            if pad is not None]
    gain_db = ((previous or {}).get("loudness") or {}).get("gain_db")
    store = EncodeCache(options.cache)
    verify = engines.verifies_peaks(voice.engine)
    to_encode = [unit for unit in dict.fromkeys([*units, *pads])
                 if gain_db is None
                 or any(p.clip is not None and p.clip.key in missing for p in unit.pieces)
                 or store.get(segment_key(unit, gain_db, verify)) is None]
    frames = sum(unit.frames for unit in to_encode)
    return len(dict.fromkeys([*units, *pads])), len(to_encode), frames * 1000 // SAMPLE_RATE


def _reasons(previous: dict[str, Any] | None, inputs: dict[str, Any], script: Script,
             problems: list[str], force: bool) -> list[str]:
    """Why the edition is stale, in words."""
    if previous is None:
        return ["no edition yet"]
    recorded = previous.get("inputs") or {}
    if recorded and key_of(recorded) == key_of(inputs):
        return problems or (["--force"] if force else [])
    if not recorded:  # rendered before the manifest kept its inputs
        if (previous.get("script") or {}).get("sha256") != script.digest:
            return _script_changes(previous, script)
        return ["the render settings changed since it was rendered"]
    found: list[str] = []
    for name, old in recorded.items():
        new = inputs.get(name)
        if old == new:
            continue
        if name == "script":
            found += _script_changes(previous, script)
        elif name == "output":
            found.append(f"audioguide writes its editions differently now (output version "
                         f"{old} -> {new})")
        elif name == "formats":
            found.append(f"formats {', '.join(old or ())} -> {', '.join(new or ())}")
        else:  # engine, voice, rate, volume; unset is the engine's own default
            found.append(f"{name} {'default' if old is None else old} -> "
                         f"{'default' if new is None else new}")
    return found or ["the render settings changed since it was rendered"]


def _script_changes(previous: dict[str, Any], script: Script) -> list[str]:
    """What changed in the script: its sentences, its lexicon, or the rest of it."""
    old = Counter(s["text"] for c in previous.get("chapters") or () for s in c["sentences"])
    new = Counter(s.text for s in script.sentences())
    added, removed = sum((new - old).values()), sum((old - new).values())
    found = []
    if added or removed:
        if added == removed:
            found.append(f"the script's text changed ({_count(added, 'sentence')} edited)")
        else:
            found.append(f"the script's text changed ({_count(added, 'sentence')} new or "
                         f"edited, {removed} gone)")
    lexicon = (previous.get("script") or {}).get("lexicon")
    if lexicon != manifest_file.lexicon_digest(script.lexicon):
        found.append("the lexicon changed")
    return found or ["the script's front matter or layout changed (title, pauses, headings)"]


def _notes(previous: dict[str, Any] | None, inputs: dict[str, Any], identity: str
           ) -> list[str]:
    """Changes a render does not act on by itself: a new engine version, a new audioguide."""
    if previous is None:
        return []
    found = []
    recorded = previous.get("inputs") or {}
    same_voice = all(recorded.get(name) == inputs[name]
                     for name in ("engine", "voice", "rate", "volume"))
    if recorded and same_voice and previous.get("engine") not in (None, identity):
        found.append(f"the engine is now {identity} (was {previous['engine']}); "
                     "`render --force` would narrate it again")
    if previous.get("audioguide") != __version__:
        found.append(f"rendered by audioguide {previous.get('audioguide')}, this is "
                     f"{__version__}")
    return found


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
