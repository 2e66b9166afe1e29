"""The audioguide benchmark: ratios against a floor measured in the same run.

    ./dev.sh bench              full run: the article (several runs) and a long script
    ./dev.sh bench --quick      one short pass of everything (CI), targets not enforced

Every figure is wall time and peak memory (the sum of the resident memory of the whole
process tree, sampled) of one command:

- floor: the irreducible work for the same spoken text: espeak-ng's CLI writing one WAV,
  then one AAC and one MP3 encode of it with ffmpeg (the settings audioguide uses);
- naive: pyttsx3 saving the whole text to one file, pydub exporting one MP3;
- cold: `audioguide render` with an empty clip cache, every format;
- no-op: the same render again, nothing changed;
- edit: after one sentence of one chapter changed.

The machine is shared and noisy, so only ratios measured in one run are compared.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "script" / "crying-during-sex.md"
PAGE = os.sysconf("SC_PAGE_SIZE")

TARGETS = {
    "cold / floor": 1.2,
    "no-op / floor": 0.2,
    "edit / cold": 0.3,
    "long peak MB": 300.0,
    "long s per audio hour / article s per audio hour": 1.25,
}


@dataclass
class Measure:
    """One command's wall time and peak memory of its process tree."""

    seconds: float
    peak_mb: float


def _tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(pid, []))
    return total


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measure:
    """Run `command`, sampling its process tree's memory; fail loudly if it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})})
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, command))} failed ({process.returncode}):\n"
                 f"{stderr.decode(errors='replace')[-2000:]}")
    return Measure(seconds, peak / 1e6)


def spoken_text(script: Path) -> str:
    """The text audioguide sends to the engine, as one string."""
    from audioguide.script import parse_script

    return "\n".join(s.spoken for s in parse_script(script).sentences())


def long_script(source: Path, target: Path, factor: int) -> None:
    """The article's body chapters repeated `factor` times, every sentence made distinct.

    Each repetition is one chapter; a prefix on every sentence keeps the clip cache from
    serving one repetition's audio for another, so the synthesis is real.
    """
    from audioguide.script import parse_script

    script = parse_script(source)
    text = source.read_text(encoding="utf-8")
    front = text.split("\n---\n", 1)[0] + "\n---\n"
    front = re.sub(r"(?m)^content_note:.*\n", "", front)
    front = re.sub(r'(?m)^title: "?(.*?)"?$', r'title: "\1 (long benchmark edition)"', front)
    body = [c for c in script.chapters if c.number >= 3 and c.title != "Credits"]
    chapters = []
    for k in range(1, factor + 1):
        paragraphs: dict[tuple[int, int], list[str]] = {}
        for chapter in body:
            for sentence in chapter.sentences[1:]:
                paragraphs.setdefault((chapter.number, sentence.block), []).append(
                    f"In round {k}, {sentence.text}")
        chapters.append(f"## Round {k}\n\n" + "\n\n".join(" ".join(p) for p in
                                                          paragraphs.values()))
    target.write_text(front + "\n" + "\n\n".join(chapters) + "\n", encoding="utf-8")


def edit_script(path: Path) -> None:
    """Change one sentence of one chapter (the second paragraph of the fourth chapter)."""
    text = path.read_text(encoding="utf-8")
    marker = "The first thing to note"
    if marker not in text:
        marker = "In round 2, "
    path.write_text(text.replace(marker, "The very first thing to note"
                                 if marker.startswith("The") else "In round two, ", 1),
                    encoding="utf-8")


def floor(script: Path, work: Path) -> Measure:
    """espeak-ng's CLI for the whole text, then one AAC and one MP3 encode."""
    from audioguide.encode import AAC_BITRATE, MP3_BITRATE

    text = work / "floor.txt"
    text.write_text(spoken_text(script), encoding="utf-8")
    runner = work / "floor.sh"
    runner.write_text(textwrap.dedent(f"""\
        set -e
        espeak-ng -v en-us -s 165 -w floor.wav -f floor.txt
        ffmpeg -nostdin -v error -y -i floor.wav -ar 44100 -ac 1 -c:a aac -b:a {AAC_BITRATE} \\
          -aac_coder fast floor.m4a
        ffmpeg -nostdin -v error -y -i floor.wav -ar 44100 -ac 1 -c:a libmp3lame \\
          -b:a {MP3_BITRATE} floor.mp3
        """), encoding="utf-8")
    return measure(["bash", str(runner)], work)


NAIVE = """
import os, sys, time, pyttsx3
from pydub import AudioSegment
text = open(sys.argv[1], encoding="utf-8").read()
engine = pyttsx3.init()
engine.save_to_file(text, "naive.wav")
engine.runAndWait()
for _ in range(600):  # runAndWait can return before the file is written
    if os.path.exists("naive.wav") and os.path.getsize("naive.wav") > 44:
        break
    time.sleep(0.1)
time.sleep(0.5)
AudioSegment.from_wav("naive.wav").export("naive.mp3", format="mp3")
"""


def naive(script: Path, work: Path) -> Measure | None:
    """pyttsx3 for the whole text in one file and pydub's export; None where it cannot run."""
    text = spoken_text(script)
    if len(text) > 13_000:
        return None  # pyttsx3 crashes the process above about 13,500 characters
    (work / "naive.txt").write_text(text, encoding="utf-8")
    (work / "naive.py").write_text(NAIVE, encoding="utf-8")
    return measure([sys.executable, "naive.py", "naive.txt"], work)


def audioguide(script: Path, work: Path, cache: Path) -> Measure:
    return measure([sys.executable, "-m", "audioguide.cli", "render", str(script), "-o",
                    str(work / "audio"), "--cache", str(cache), "-q"], work)


def suite(name: str, source: Path, base: Path, runs: int, long: bool
          ) -> tuple[dict[str, Measure], float]:
    """floor, naive, cold, no-op and edit for one script (medians of `runs` runs), and the
    hours of audio it makes."""
    results: dict[str, list[Measure]] = {}
    hours = 0.0
    for run in range(runs):
        work = base / f"{name}-{run}"
        work.mkdir(parents=True)
        script = work / "script.md"
        shutil.copy(source, script)
        results.setdefault("floor", []).append(floor(script, work))
        if not long:
            naive_measure = naive(script, work)
            if naive_measure:
                results.setdefault("naive", []).append(naive_measure)
        cache = work / "cache"
        results.setdefault("cold", []).append(audioguide(script, work, cache))
        results.setdefault("no-op", []).append(audioguide(script, work, cache))
        edit_script(script)
        results.setdefault("edit", []).append(audioguide(script, work, cache))
        hours = audio_hours(work)
        shutil.rmtree(work / "audio", ignore_errors=True)
    medians = {key: Measure(statistics.median(m.seconds for m in values),
                            max(m.peak_mb for m in values)) for key, values in results.items()}
    return medians, hours


def audio_hours(work: Path) -> float:
    import json

    manifests = list(work.glob("audio/*/manifest.json"))
    data = json.loads(manifests[0].read_text(encoding="utf-8"))
    return data["duration_ms"] / 3_600_000


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="one run, a short long script; report only (for CI)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the article suite")
    parser.add_argument("--long-factor", type=int, default=100,
                        help="repetitions of the article body in the long script")
    parser.add_argument("--keep", type=Path, help="keep the work files in this folder")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.long_factor = 1, 3
    base = Path(tempfile.mkdtemp(prefix="audioguide-bench-", dir=args.keep))
    try:
        article, article_hours = suite("article", ARTICLE, base, args.runs, long=False)
        long_source = base / "long.md"
        long_script(ARTICLE, long_source, args.long_factor)
        long, long_hours = suite("long", long_source, base, 1, long=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return report(article, long, article_hours, long_hours, enforce=not args.quick)


def report(article: dict[str, Measure], long: dict[str, Measure], article_hours: float,
           long_hours: float, enforce: bool) -> int:
    print(f"{'':10} {'article s':>10} {'peak MB':>8}   {'long s':>9} {'peak MB':>8}")
    for key in ("floor", "naive", "cold", "no-op", "edit"):
        a, b = article.get(key), long.get(key)
        left = f"{a.seconds:10.2f} {a.peak_mb:8.0f}" if a else f"{'n/a':>10} {'':8}"
        right = f"{b.seconds:9.2f} {b.peak_mb:8.0f}" if b else f"{'n/a':>9} {'':8}"
        print(f"{key:10} {left}   {right}")
    print(f"audio: article {article_hours * 60:.1f} min, long {long_hours:.2f} h")
    ratios = {
        "cold / floor": article["cold"].seconds / article["floor"].seconds,
        "no-op / floor": article["no-op"].seconds / article["floor"].seconds,
        "edit / cold": article["edit"].seconds / article["cold"].seconds,
        "long peak MB": long["cold"].peak_mb,
        "long s per audio hour / article s per audio hour":
            (long["cold"].seconds / long_hours) / (article["cold"].seconds / article_hours),
    }
    if "naive" in article:
        print(f"naive / floor: {article['naive'].seconds / article['floor'].seconds:.2f} "
              f"(for comparison)")
    print(f"long cold / long floor: {long['cold'].seconds / long['floor'].seconds:.2f}")
    missed = 0
    for key, value in ratios.items():
        ok = value <= TARGETS[key]
        missed += not ok
        print(f"{key:50} {value:8.2f}  target <= {TARGETS[key]:g}  {'ok' if ok else 'MISSED'}")
    if missed and enforce:
        print(f"bench: {missed} target(s) missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
