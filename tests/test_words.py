"""Word times: written words timed by the spoken ones, kept with their clip in the cache,
moved with the trim, and published in the manifest and the captions."""

from __future__ import annotations

import json
import wave
from pathlib import Path

from audioguide.engines.fake import FakeEngine
from audioguide.model import Voice, WordTime
from audioguide.narrate import ClipCache
from audioguide.timeline import CLIP_MARGIN_MS
from audioguide.words import written_words
from conftest import manifest
from vttcheck import parse


def _spoken(*words: str, step: int = 100) -> tuple[WordTime, ...]:
    return tuple(WordTime(w, i * step, i * step + step - 10) for i, w in enumerate(words))


def test_written_words_take_the_times_of_the_same_spoken_words() -> None:
    """Words spoken as written keep their own times, their punctuation trimmed."""
    words = written_words("“Stop,” she said.", _spoken("Stop", "she", "said"))
    assert words == (WordTime("Stop", 0, 90), WordTime("she", 100, 190),
                     WordTime("said", 200, 290))


def test_a_written_span_said_differently_gets_the_time_of_its_spoken_words() -> None:
    """A price read out in five words is one written word timed from the first to the last;
    a lexicon word replaced by phonemes keeps its own time; a dash is no word."""
    spoken = _spoken("In", "1987", "Shadeen", "paid", "five", "dollars", "and", "ninety",
                     "nine", "cents")
    spoken = spoken[:2] + (WordTime("[[S@d'i:n]]", 200, 290),) + spoken[3:]
    words = written_words("In 1987 Shadeen paid — $5.99.", spoken)
    assert [w.text for w in words] == ["In", "1987", "Shadeen", "paid", "$5.99"]
    assert words[2] == WordTime("Shadeen", 200, 290)
    assert words[4] == WordTime("$5.99", 400, 990)


def test_unspoken_and_extra_words_are_absorbed() -> None:
    """A written word the engine does not say joins the word before it; spoken words with
    no written counterpart lengthen the word before them, or belong to none at the start."""
    words = written_words("A photo [chart] here.",
                          _spoken("Chapter", "one", "A", "photo", "here", "end", "quote"))
    assert [w.text for w in words] == ["A", "photo [chart", "here"]
    assert words[0].start_ms == 200
    assert words[-1].end_ms == 690


def test_no_spoken_times_gives_no_words() -> None:
    """An engine that reports no word times leaves the sentence without words."""
    assert written_words("Some text.", ()) == ()


def _staged(cache: ClipCache, key: str, lead_ms: int) -> tuple[Path, tuple[WordTime, ...]]:
    """A fake clip with `lead_ms` of extra silence before it, and its word times."""
    staged = cache.staging(key)
    words = FakeEngine().synthesize("Hello there world", Voice(engine="fake"), staged)
    with wave.open(str(staged), "rb") as wav:
        rate, pcm = wav.getframerate(), wav.readframes(wav.getnframes())
    with wave.open(str(staged), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(2 * round(rate * lead_ms / 1000)) + pcm)
    return staged, tuple(WordTime(w.text, w.start_ms + lead_ms, w.end_ms + lead_ms)
                         for w in words)


def test_the_cache_keeps_word_times_moved_with_the_trim(tmp_path: Path) -> None:
    """A committed clip's words move with its trimmed leading silence: the first word starts
    at the clip's margin, every word stays inside the clip, and they read back with it."""
    cache = ClipCache(tmp_path)
    staged, words = _staged(cache, "ab" * 32, 300)
    clip = cache.commit("ab" * 32, staged, words)
    assert [w.text for w in clip.words] == ["Hello", "there", "world"]
    assert abs(clip.words[0].start_ms - CLIP_MARGIN_MS) <= 2
    assert all(0 <= w.start_ms <= w.end_ms <= clip.duration_ms for w in clip.words)
    assert cache.get("ab" * 32) == clip
    assert cache.get("ab" * 32).words == clip.words  # type: ignore[union-attr]


def test_a_sidecar_that_is_not_the_clips_own_reads_as_missing(tmp_path: Path) -> None:
    """A clip whose word times belong to another WAV, or are missing, is made again."""
    cache = ClipCache(tmp_path)
    first, second = "cd" * 32, "ef" * 32
    for key in (first, second):
        staged, words = _staged(cache, key, 100 if key == first else 200)
        cache.commit(key, staged, words)
    own = next(cache.root.glob(f"*/{first}.*.json"))
    own.rename(own.with_name(f"{first}.{'0' * 16}.json"))  # another WAV's word times
    assert cache.get(first) is None
    next(cache.root.glob(f"*/{second}.*.json")).unlink()
    assert cache.get(second) is None


def test_manifest_and_captions_carry_every_written_word(small_edition: Path) -> None:
    """Each sentence of the manifest lists its written words in order inside it, and its
    caption cue has a valid inline timestamp at each word after the first."""
    book = manifest(small_edition)
    cues = {c.identifier: c for c in parse(
        (small_edition / "captions.vtt").read_text(encoding="utf-8"))}
    for sentence in (s for c in book["chapters"] for s in c["sentences"]):
        words = sentence["words"]
        letters = "".join(ch for ch in sentence["text"].lower() if ch.isalnum())
        assert "".join(ch for w in words for ch in w["text"].lower() if ch.isalnum()) == letters
        starts = [w["start_ms"] for w in words]
        assert starts == sorted(starts)
        assert all(sentence["start_ms"] <= w["start_ms"] <= w["end_ms"] <= sentence["end_ms"]
                   for w in words)
        tagged = cues[sentence["id"]].word_starts
        assert tagged, sentence["text"]
        assert [at for at, _ in tagged] == [w["start_ms"] for w in words[1:]]
        assert [text.strip().startswith(w["text"]) for (_, text), w
                in zip(tagged, words[1:], strict=True)] == [True] * len(tagged)
    assert json.dumps(book, ensure_ascii=False).count('"words"') == sum(
        len(c["sentences"]) for c in book["chapters"])
