"""The audio core read back from decoded files: pauses exactly as the script sets them,
masters that pass audiobook production's checks (ACX) in every file, exact lengths in
every reader, the script's language on every track, and pydub as the assembly path."""

from __future__ import annotations

import io
import textwrap
import wave
from pathlib import Path

import eyed3
import mutagen
import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3 as MutagenMP3
from pydub import AudioSegment

from audioguide import assembly, encode
from audioguide.framing import (
    AAC,
    MP3,
    Placeable,
    follow,
    frames_to_keep_at_least,
    heard_starts,
    output_samples,
    pcm_frames,
    place,
)
from audioguide.mpegaudio import crc16, frames, info_frame
from audioguide.script import parse_script
from audioguide.timeline import CLIP_MARGIN_MS
from conftest import ARTICLE_SCRIPT, ROOT, manifest, render_fake
from readback import (
    decode,
    decoded_ms,
    head_and_tail_ms,
    loudness_lufs,
    noise_floor_db,
    offset_ms,
    onset_ms,
    probe,
    rms_db,
    sample_peak_dbfs,
    true_peak_dbtp,
)

PAUSE_TOLERANCE_MS = 40
LENGTH_TOLERANCE_MS = 50

# Every kind of silence a script sets, each a different length so a mix-up shows.
PAUSES_SCRIPT = textwrap.dedent("""\
    ---
    title: "Pauses"
    author: "Test Author"
    source: "Test Publication"
    language: en-US
    narrator: "Synthetic voice: test engine"
    pauses:
      sentence: 300ms
      paragraph: 900ms
      chapter: 1600ms
      lead_in: 700ms
      tail: 2500ms
    ---

    ## One

    The first sentence is here. The second sentence follows it. A third one ends the
    paragraph.

    A new paragraph starts. It has two sentences.

    <!-- pause 1.5s -->

    After an inline pause, the chapter goes on for a while with a longer sentence.

    ## Two

    The second chapter has one paragraph. It ends the book.
    """)


def expected_pauses(script_path: Path) -> dict[str, int]:
    """The silence the script sets after each sentence (the tail after the last)."""
    script = parse_script(script_path)
    pauses = {s.id: s.pause_after_ms for s in script.sentences()}
    last = script.sentences()[-1].id
    pauses[last] = pauses[last] + script.pauses.tail_ms
    return pauses


def measured_pauses(audio: Path, content: dict) -> dict[str, float]:
    """The silence measured after each sentence in a decoded file, found near the
    manifest's times; the tail runs to the end of the file."""
    sentences = [s for c in content["chapters"] for s in c["sentences"]]
    found = {}
    for before, after in zip(sentences, sentences[1:], strict=False):
        found[before["id"]] = (onset_ms(audio, after["start_ms"])
                               - offset_ms(audio, before["end_ms"]))
    last = sentences[-1]
    found[last["id"]] = decoded_ms(audio) - offset_ms(audio, last["end_ms"])
    return found


def check_pauses(edition: Path, script_path: Path) -> None:
    """Every silence the script sets, measured in the book MP3 and M4B, within 40 ms."""
    content = manifest(edition)
    expected = expected_pauses(script_path)
    for extension in ("mp3", "m4b"):
        audio = edition / f"{edition.name}.{extension}"
        measured = measured_pauses(audio, content)
        assert measured.keys() == expected.keys()
        for sentence_id, silence in measured.items():
            assert abs(silence - expected[sentence_id]) <= PAUSE_TOLERANCE_MS, (
                extension, sentence_id, silence, expected[sentence_id])
        lead_in = onset_ms(audio, content["chapters"][0]["sentences"][0]["start_ms"])
        assert abs(lead_in - parse_script(script_path).pauses.lead_in_ms) \
            <= PAUSE_TOLERANCE_MS, (extension, lead_in)


def audio_files(edition: Path) -> list[Path]:
    """Every audio file a listener may get on its own."""
    content = manifest(edition)
    return [edition / f"{edition.name}.mp3", edition / f"{edition.name}.m4b",
            *(edition / c["file"] for c in content["chapters"])]


def check_masters(edition: Path) -> None:
    """ACX-grade figures, measured on each decoded file."""
    for path in audio_files(edition):
        assert abs(loudness_lufs(path) - (-19.0)) <= 1.0, path.name
        assert true_peak_dbtp(path) <= -1.0, path.name
        assert sample_peak_dbfs(path) <= -3.0, path.name
        assert -23.0 <= rms_db(path) <= -18.0, (path.name, rms_db(path))
        assert -90.0 <= noise_floor_db(path) <= -60.0, (path.name, noise_floor_db(path))
        head, tail = head_and_tail_ms(path)
        assert 500 <= head <= 1000, (path.name, head)
        assert 1000 <= tail <= 5000, (path.name, tail)


def check_lengths(edition: Path) -> None:
    """mutagen, eyeD3 and ffprobe read each file's length exactly, without estimating."""
    for path in audio_files(edition):
        decoded = decoded_ms(path)
        info = mutagen.File(path).info
        assert abs(info.length * 1000 - decoded) <= LENGTH_TOLERANCE_MS, path.name
        probed = probe(path)["format"]
        assert abs(float(probed["duration"]) * 1000 - decoded) <= LENGTH_TOLERANCE_MS
        if path.suffix == ".mp3":
            assert isinstance(info, type(MutagenMP3(path).info))
            assert MutagenMP3(path).info.sketchy is False  # an Info frame was read
            loaded = eyed3.load(path)
            assert loaded is not None and loaded.info is not None
            assert abs(loaded.info.time_secs * 1000 - decoded) <= LENGTH_TOLERANCE_MS


@pytest.fixture(scope="module")
def pauses_edition(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The pause script rendered with the fake engine: (edition, script)."""
    base = tmp_path_factory.mktemp("pauses")
    script = base / "pauses.md"
    script.write_text(PAUSES_SCRIPT, encoding="utf-8")
    return render_fake(script, base / "audio", base / "cache").folder, script


def test_every_silence_is_the_scripts(pauses_edition: tuple[Path, Path]) -> None:
    """Sentence, paragraph, chapter, inline, lead-in and tail silences measure within
    40 ms of the script in the decoded MP3 and M4B."""
    check_pauses(*pauses_edition)


def test_the_articles_silences_are_the_scripts(article_edition: Path) -> None:
    """In the article's edition too, every silence is the script's within 40 ms."""
    check_pauses(article_edition, ARTICLE_SCRIPT)


def test_the_committed_editions_silences_levels_and_lengths() -> None:
    """The edition in audio/, narrated by espeak-ng with its quote voice: every silence
    within 40 ms of the script, every file within ACX's figures, every length exact."""
    edition = ROOT / "audio" / ARTICLE_SCRIPT.stem
    check_pauses(edition, ARTICLE_SCRIPT)
    check_masters(edition)
    check_lengths(edition)


@pytest.mark.parametrize("which", ["article_edition", "small_edition", "pauses_edition"])
def test_every_file_passes_acx_checks(which: str, request: pytest.FixtureRequest) -> None:
    """Book MP3, M4B and every chapter MP3: -19 LUFS, true peak <= -1 dBTP, sample peak
    <= -3 dBFS, RMS -23..-18 dB, floor -90..-60 dB, 0.5-1 s head and 1-5 s tail."""
    edition = request.getfixturevalue(which)
    check_masters(edition[0] if isinstance(edition, tuple) else edition)


@pytest.mark.parametrize("which", ["article_edition", "small_edition"])
def test_every_reader_gets_the_exact_length(which: str, request: pytest.FixtureRequest) -> None:
    """mutagen, ffprobe and eyeD3 read each MP3's and the M4B's length from its headers,
    within 50 ms of what a decoder plays."""
    check_lengths(request.getfixturevalue(which))


def test_chapter_times_stay_exact_with_the_info_frame(article_edition: Path) -> None:
    """The book's length is the sum of its chapters, and each chapter file's length is
    the one the manifest gives it."""
    content = manifest(article_edition)
    assert content["chapters"][-1]["end_ms"] == content["duration_ms"]
    assert abs(decoded_ms(article_edition / f"{article_edition.name}.mp3")
               - content["duration_ms"]) <= 1
    for chapter in content["chapters"]:
        assert abs(decoded_ms(article_edition / chapter["file"]) - chapter["file_ms"]) <= 1


def test_m4b_tracks_carry_the_scripts_language(small_edition: Path, tmp_path: Path) -> None:
    """The M4B's audio and chapter tracks, and the MP3 comments, are in the script's
    language (ISO 639-2), English or French."""
    french = (small_edition.parent.parent / "small.md").read_text(encoding="utf-8")
    french = french.replace("language: en-US", "language: fr-FR")
    script = tmp_path / "petit.md"
    script.write_text(french, encoding="utf-8")
    french_edition = render_fake(script, tmp_path / "audio", tmp_path / "cache",
                                 formats=("m4b", "mp3")).folder
    for edition, code in ((small_edition, "eng"), (french_edition, "fra")):
        streams = [s for s in probe(edition / f"{edition.name}.m4b")["streams"]
                   if s["codec_type"] != "video"]  # the cover
        assert len(streams) == 2
        assert [s["tags"]["language"] for s in streams] == [code, code]
        comments = ID3(edition / f"{edition.name}.mp3").getall("COMM")
        assert comments and all(c.lang == code for c in comments)


def test_the_encoders_get_what_pydub_assembled(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every segment the encoders read is exactly an AudioSegment that pydub assembled
    and mastered."""
    made: list[AudioSegment] = []
    heard: list[bytes] = []
    real_master, real_ffmpeg = assembly.master, encode.ffmpeg

    def spy_master(audio: AudioSegment, gain_db: float,
                   ceiling_dbfs: float = assembly.PEAK_CEILING_DBFS) -> AudioSegment:
        assert isinstance(audio, AudioSegment)
        result = real_master(audio, gain_db, ceiling_dbfs)
        made.append(result)
        return result

    def spy_ffmpeg(args, outputs, what):  # type: ignore[no-untyped-def]
        wav = Path(args[args.index("-i") + 1])
        with wave.open(str(wav), "rb") as handle:
            heard.append(handle.readframes(handle.getnframes()))
        return real_ffmpeg(args, outputs, what)

    monkeypatch.setattr(assembly, "master", spy_master)
    monkeypatch.setattr(encode, "ffmpeg", spy_ffmpeg)
    script = tmp_path / "pauses.md"
    script.write_text(PAUSES_SCRIPT, encoding="utf-8")
    render_fake(script, tmp_path / "audio", tmp_path / "cache", formats=("mp3",))
    assert made and heard
    assert {audio.raw_data for audio in made} == set(heard)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Mono 16-bit samples as a WAV file, as an engine writes its clips."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.astype("<i2").tobytes())


def test_clips_are_trimmed_to_a_fixed_margin(tmp_path: Path) -> None:
    """A clip's leading and trailing silence become exactly the margin: cut where the
    engine was quiet longer, added where it spoke at once."""
    rate = 22050
    tone = (np.sin(np.arange(rate // 2) * 2 * np.pi * 220 / rate) * 12000).astype("<i2")
    for before_ms, after_ms in ((300, 400), (0, 0)):
        samples = np.concatenate([np.zeros(rate * before_ms // 1000, "<i2"), tone,
                                  np.zeros(rate * after_ms // 1000, "<i2")])
        path = tmp_path / f"clip-{before_ms}.wav"
        write_wav(path, samples, rate)
        assembly.trim(path)
        with wave.open(str(path), "rb") as handle:
            trimmed = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
        sound = np.nonzero(np.abs(trimmed) > 32)[0]
        assert abs(sound[0] * 1000 / rate - CLIP_MARGIN_MS) <= 1.5
        assert abs((len(trimmed) - sound[-1]) * 1000 / rate - CLIP_MARGIN_MS) <= 1.5


def test_a_fading_tail_far_under_the_speech_is_trimmed(tmp_path: Path) -> None:
    """A soft ending 35 dB under the clip's speech (louder than the absolute threshold)
    is cut with the engine's silence; one 20 dB under it is speech, and kept."""
    rate = 22050
    loud = np.sin(np.arange(rate // 2) * 2 * np.pi * 220 / rate) * 12000
    fade = np.sin(np.arange(rate // 10) * 2 * np.pi * 220 / rate)
    for under_db, kept_ms in ((35, 0), (20, 100)):
        samples = np.concatenate([loud, fade * 12000 * 10 ** (-under_db / 20),
                                  np.zeros(rate * 300 // 1000)]).astype("<i2")
        path = tmp_path / f"fade-{under_db}.wav"
        write_wav(path, samples, rate)
        assembly.trim(path)
        with wave.open(str(path), "rb") as handle:
            length_ms = handle.getnframes() * 1000 / rate
        assert abs(length_ms - (500 + kept_ms + 2 * CLIP_MARGIN_MS)) <= 3, under_db


# ---------------------------------------------------------------------------
# The frame arithmetic, unit by unit
# ---------------------------------------------------------------------------


def test_codec_delays_are_what_the_encoders_do(tmp_path: Path) -> None:
    """An impulse encoded with the project's MP3 and AAC settings is decoded exactly the
    codec's delay later (so MP3.delay and AAC.delay are measured, not assumed)."""
    rate = 22050
    signal = np.zeros(rate, "<i2")
    signal[rate // 2:rate // 2 + 100] = (np.hanning(100) * 20000).astype("<i2")
    wav = tmp_path / "impulse.wav"
    write_wav(wav, signal, rate)
    for codec, args, fmt in ((MP3, [*encode.MP3_ARGS, "-write_xing", "0"], "mp3"),
                             (AAC, encode.AAC_ARGS, "adts")):
        out = tmp_path / f"impulse.{codec.name}"
        encode.ffmpeg(["-i", wav, *args, *encode.QUIET, "-f", fmt, out], [out], "encode")
        samples = decode(out)
        peak = int(np.argmax(np.abs(samples)))
        assert abs(peak - (output_samples(rate // 2 + 50) + codec.delay)) <= 16, codec.name
        assert len(samples) % codec.frame == 0


def test_place_keeps_the_frames_nearest_each_length() -> None:
    """Each segment keeps the whole number of frames nearest its length, never fewer than
    hold its speech nor more than it has; the last also keeps the file's delay."""
    segments = [Placeable(frames=100, least=10), Placeable(frames=100, least=95),
                Placeable(frames=50, least=1)]
    # The last keeps the delay too: (20 * 1152 - 600 + 1105) / 1152 is 20.4 frames.
    lengths = [10 * 1152 + 500, 10 * 1152, 20 * 1152 - 600]
    assert place(MP3, segments, lengths) == [10, 95, 20]
    assert place(MP3, [Placeable(5, 1)], [1152 * 40]) == [5]


def test_follow_tracks_another_files_starts() -> None:
    """Following given starts keeps each segment within half a frame of its start."""
    starts = [0, 30_000, 61_111, 90_500]
    segments = [Placeable(frames=60, least=1)] * 3
    kept = follow(AAC, segments, starts)
    heard = heard_starts(AAC, kept)
    for got, wanted in zip(heard[:-1], starts[:-1], strict=True):
        assert abs(got - wanted) <= AAC.frame // 2
    assert abs(heard[-1] - starts[-1]) <= AAC.frame // 2


def test_frames_to_keep_at_least_covers_the_speech() -> None:
    """The least frames kept hold every sample of the speech after the codec's delay."""
    for pcm in (0, 1, 575, 576, 10_000):
        count = frames_to_keep_at_least(MP3, pcm)
        assert count * MP3.frame >= MP3.delay + output_samples(pcm)
        assert (count - 1) * MP3.frame < MP3.delay + output_samples(pcm)
    assert pcm_frames(1000) == 22050


def test_heard_starts_is_the_raw_position_less_the_delay_at_the_end() -> None:
    """A segment is heard where its frames begin; the file's length loses the delay."""
    assert heard_starts(MP3, [10, 20]) == [0, 11520, 30 * 1152 - MP3.delay]


def test_info_frame_is_read_by_mutagen(tmp_path: Path) -> None:
    """mutagen reads the Info frame's frame count, LAME delay and padding, and the frame
    is a valid MPEG-1 Layer III frame with a correct tag CRC."""
    header = bytes([0xFF, 0xFB, 0x50, 0xC4])  # MPEG-1 Layer III, 64 kb/s, 44.1 kHz, mono
    frame = info_frame(header, audio_frames=1000, audio_bytes=208_000, delay=576, padding=529)
    assert len(frame) == 208
    (offset, length, samples), = list(frames(frame))
    assert (offset, length, samples) == (0, 208, 1152)
    crc_at = 21 + 120 + 36 - 2
    assert int.from_bytes(frame[crc_at:crc_at + 2], "big") == crc16(frame[:crc_at])
    silent = bytes([0xFF, 0xFB, 0x50, 0xC4]) + bytes(204)
    path = tmp_path / "x.mp3"
    path.write_bytes(frame + silent * 1000)
    info = MutagenMP3(io.BytesIO(path.read_bytes())).info
    assert abs(info.length - (1000 * 1152 - 576 - 529) / 44100) < 1e-6


def test_an_encode_that_overshoots_the_peak_limit_is_made_again_lower(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each encoded segment is decoded and measured; when an encoder overshot ACX's -3 dBFS
    (as on Piper's sharp onsets), the segment is mastered again with the limiter lowered by
    the overshoot, and the files kept are the second pass's."""
    import threading

    from audioguide.engines.fake import FakeEngine
    from audioguide.model import Clip, Voice
    from audioguide.timeline import Piece, Segment

    clip_path = tmp_path / "clip.wav"
    FakeEngine().synthesize("A sentence for the encoder to overshoot on.", Voice(engine="fake"),
                            clip_path)
    with wave.open(str(clip_path)) as wav:
        clip = Clip("k" * 64, clip_path, wav.getnframes(), wav.getframerate())
    assembly_rate_frames = round(clip.frames * assembly.SAMPLE_RATE / clip.sample_rate)
    segment = Segment(0, (Piece(assembly_rate_frames, clip, "c01s001", "text"),))
    ceilings: list[float] = []
    real_master, real_peak = assembly.master, encode.decoded_peak_dbfs
    measured: list[float] = []

    def master(audio, gain_db, ceiling_dbfs=assembly.PEAK_CEILING_DBFS):
        ceilings.append(ceiling_dbfs)
        return real_master(audio, gain_db, ceiling_dbfs)

    def peak(path: Path) -> float:
        measured.append(real_peak(path))
        # The first pass's MP3 is reported 1.5 dB over ACX's limit, as an encoder overshoot.
        return -1.5 if len(measured) == 1 else measured[-1]

    monkeypatch.setattr(encode.assembly, "master", master)
    monkeypatch.setattr(encode, "decoded_peak_dbfs", peak)
    store = encode.EncodeCache(tmp_path / "cache")
    work = tmp_path / "work"
    work.mkdir()
    gain_db = 6.0
    encoded = encode.encode(segment, gain_db, work, store, "e" * 64,
                            threading.BoundedSemaphore(2), "encode a test segment",
                            verify_peaks=True)
    assert len(ceilings) == 2 and ceilings[0] == assembly.PEAK_CEILING_DBFS
    overshoot = -1.5 - (encode.ACX_PEAK_DBFS - encode.PEAK_MARGIN_DB)
    assert ceilings[1] <= assembly.PEAK_CEILING_DBFS - overshoot - encode.PEAK_MARGIN_DB
    assert real_peak(encoded.mp3) <= ceilings[1] + 1.0  # the kept files are the second pass
    assert len(measured) == 4  # both encodes measured on both passes
