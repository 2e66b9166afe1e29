"""Ask espeak-ng how it would read words: from its dictionary, by its spelling rules, or by letters.

`espeak-ng -X` traces each word it translates: "Found: 'word'" when its dictionary
holds the word, "Translate 'word'" when letter-to-sound rules read it, and
"Unpronouncable? 'word'" when it cannot say it as a word and spells or splits it
(unless a "Translate" of the same word follows: then the rules read it after all).
A word spelled letter by letter at once (an initialism such as "CST") leaves no line
of its own. All words go to one espeak-ng process, each as a sentence of its own (its dictionary
holds phrases such as "that the"), so a whole script takes a moment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from typing import Literal

from ..errors import MissingToolError, UsageError
from .pyttsx3_engine import INSTALL_HINT

Reading = Literal["dictionary", "rules", "letters"]

_TRACE = re.compile(r"^(Found:|Translate|Unpronouncable\?) '(.+?)'(?= |$)", re.M)
_KINDS: dict[str, Reading] = {"Found:": "dictionary", "Translate": "rules",
                              "Unpronouncable?": "letters"}
TIMEOUT_S = 120


def readings(words: Iterable[str], voice: str) -> dict[str, Reading]:
    """How espeak-ng `voice` reads each word (keys lower-cased); words it spells have "letters"."""
    wanted = sorted({w.lower() for w in words})
    if not wanted:
        return {}
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise MissingToolError(f"espeak-ng is not installed, and check asks it how it reads "
                               f"each word; {INSTALL_HINT}")
    try:
        done = subprocess.run([exe, "-q", "-X", "-v", voice, "--stdin"],
                              input=".\n".join(wanted) + ".", capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise MissingToolError(f"espeak-ng did not answer within {TIMEOUT_S} s; "
                               f"{INSTALL_HINT}") from None
    if done.returncode != 0:
        if "voice does not exist" in done.stderr:
            raise UsageError(f"espeak-ng has no voice {voice!r}; see `audioguide voices`")
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise MissingToolError(f"espeak-ng failed ({detail}); reinstall it: "
                               "sudo apt-get install --reinstall espeak-ng espeak-ng-data")
    found: dict[str, Reading] = {}
    for match in _TRACE.finditer(done.stdout):
        word, kind = match.group(2), _KINDS[match.group(1)]
        # "Unpronouncable?" is a question; a "Translate" of the same word answers it.
        if word in found and found[word] != "letters":
            continue
        found[word] = kind
    # A word traced by no line of its own was spelled at once, letter by letter.
    return {word: found.get(word, "letters") for word in wanted}
