"""The one boundary to external programs (ffmpeg, ffprobe).

They run without a shell, with absolute paths so that no name can be taken for
an option; a failure becomes an EncodeError carrying the command and the end
of its stderr, after the partial outputs are removed.
"""

from __future__ import annotations

import ctypes
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from .errors import EncodeError, MissingToolError

FFMPEG_HINT = "install it with: sudo apt-get install ffmpeg  (or run ./dev.sh render)"


def require(program: str, hint: str = FFMPEG_HINT) -> str:
    """The path of `program`, or a MissingToolError saying how to install it."""
    path = shutil.which(program)
    if path is None:
        raise MissingToolError(f"{program} is not installed; {hint}")
    return path


def ffmpeg(args: Sequence[str | Path], outputs: Sequence[Path], what: str) -> None:
    """Run ffmpeg quietly and reproducibly; on failure remove `outputs` and raise."""
    command = [require("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               *map(str, args)]
    _run(command, outputs, what)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to kill this process when the one that started it dies (Linux).

    A render killed with SIGKILL cannot stop its ffmpeg runs or synthesis workers
    itself; without this they would go on writing into a staging folder that the
    next render is removing. Called in a child before it runs anything else.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def child(command: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """`command` and the options for subprocess.Popen that make it die with the render
    (see die_with_parent).

    On Linux, util-linux's `setpriv --pdeathsig KILL` asks the kernel for that and then
    runs the program. Only where setpriv cannot is die_with_parent run as the child's
    preexec_fn, which costs more: the child is then a fork() of the render that runs
    Python before it runs the program, an unsafe thing with threads about, and for that
    moment it holds a copy of the render's page tables (a 100 MB render shows as 200 MB,
    once per ffmpeg run). Without preexec_fn, Python starts the child with vfork().
    """
    if not sys.platform.startswith("linux"):
        return list(command), {}
    prefix = _pdeathsig_prefix()
    if prefix:
        return [*prefix, *command], {}
    return list(command), {"preexec_fn": die_with_parent}


@cache
def _pdeathsig_prefix() -> tuple[str, ...]:
    """setpriv's options for a parent-death signal, or () where it lacks them (util-linux
    before 2.33) or is not installed."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return ()
    prefix = (setpriv, "--pdeathsig", "KILL", "--")
    try:
        works = subprocess.run([*prefix, "true"], capture_output=True, timeout=20,
                               check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        works = False
    return prefix if works else ()


@cache
def ffmpeg_version() -> str:
    """ffmpeg's version string (recorded in the manifest), or '' when it cannot be run."""
    try:
        out = subprocess.run([require("ffmpeg"), "-version"], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired, MissingToolError):
        return ""
    words = out.split()
    return words[2] if len(words) > 2 and words[:2] == ["ffmpeg", "version"] else ""


def ffprobe_json(path: Path, *entries: str) -> dict[str, Any]:
    """ffprobe's JSON description of `path` (format, streams, chapters as asked)."""
    command = [require("ffprobe"), "-v", "error", "-print_format", "json", *entries,
               str(path.absolute())]
    result = _run(command, (), f"read {path.name}")
    data: dict[str, Any] = json.loads(result.stdout or "{}")
    return data


def decode_duration_ms(path: Path) -> int:
    """The length of `path` as a decoder plays it (after encoder delay and padding)."""
    command = [require("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-i",
               str(path.absolute()), "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-ar", "44100",
               "-"]
    # Count the decoded bytes as they stream past: a book's PCM would not fit in memory.
    command, options = child(command)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          **options) as process:
        assert process.stdout is not None and process.stderr is not None
        size = 0
        while chunk := process.stdout.read(1 << 20):
            size += len(chunk)
        stderr = process.stderr.read()
    if process.returncode != 0:
        raise EncodeError(f"cannot decode {path.name}: {_tail(stderr)}", path=path)
    return round(size / 2 * 1000 / 44100)


def decoded_peak_dbfs(path: Path) -> float:
    """The highest sample of `path` as a player decodes it (dBFS), read as it streams."""
    import numpy as np

    command = [require("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-i",
               str(path.absolute()), "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-"]
    peak = 0
    command, options = child(command)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          **options) as process:
        assert process.stdout is not None and process.stderr is not None
        while chunk := process.stdout.read(1 << 20):
            values = np.frombuffer(chunk[:len(chunk) // 2 * 2], dtype="<i2")
            if len(values):
                peak = max(peak, int(np.abs(values.astype(np.int32)).max()))
        stderr = process.stderr.read()
    if process.returncode != 0:
        raise EncodeError(f"cannot decode {path.name}: {_tail(stderr)}", path=path)
    return -120.0 if peak == 0 else 20 * float(np.log10(peak / 32768))


_RUNNING: set[subprocess.Popen[str]] = set()
_RUNNING_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every external program still running (the user pressed Ctrl-C)."""
    # Called from a signal handler too, which may have interrupted a holder of the lock.
    if not _RUNNING_LOCK.acquire(timeout=1):
        return
    try:
        for process in _RUNNING:
            process.kill()
    finally:
        _RUNNING_LOCK.release()


def _run(command: list[str], outputs: Sequence[Path], what: str
         ) -> subprocess.CompletedProcess[str]:
    spawned, options = child(command)
    try:
        process = subprocess.Popen(spawned, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, errors="replace", **options)
    except OSError as exc:
        _remove(outputs)
        raise EncodeError(f"could not {what}: {exc.strerror} running {command[0]}") from None
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        stdout, stderr = process.communicate()
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if result.returncode != 0:
        _remove(outputs)
        shown = shlex.join(command)
        if len(shown) > 300:
            shown = shown[:297] + "..."
        raise EncodeError(f"could not {what}: {shown} exited with {result.returncode}: "
                          f"{_tail(result.stderr)}")
    return result


def _tail(stderr: str | bytes) -> str:
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return " / ".join(lines[-2:]) if lines else "no message"


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)
