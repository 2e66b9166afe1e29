"""W3C Pronunciation Lexicon Specification (PLS 1.0) files, read and written.

A lexeme's graphemes are the written forms; an `<alias>` is said instead, a
`<phoneme alphabet="x-espeak">` is passed to espeak-ng as ``[[...]]``, and an IPA
phoneme is turned into espeak-ng's phonemes where every symbol has an English
counterpart (otherwise the line is refused, naming the symbol). Files are read with
the standard library's expat parser; a DOCTYPE is refused, so no entity is ever
expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from .errors import ScriptError
from .files import write_whole
from .phonemes import UnknownSymbol, convert

NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"
ESPEAK = "x-espeak"
IPA = "ipa"
MAX_BYTES = 2_000_000

# IPA (as used for English) to espeak-ng's English phoneme names, longest symbols first.
_IPA_TO_ESPEAK = {
    "tʃ": "tS", "dʒ": "dZ", "eɪ": "eI", "aɪ": "aI", "ɔɪ": "OI", "aʊ": "aU", "oʊ": "oU",
    "əʊ": "oU", "ɪə": "i@", "eə": "e@", "ɛə": "e@", "ʊə": "U@", "iː": "i:", "uː": "u:",
    "ɑː": "A:", "ɔː": "O:", "ɜː": "3:", "i": "i", "ɪ": "I", "e": "E", "ɛ": "E", "æ": "a",
    "ɑ": "A:", "ɒ": "0", "ɔ": "O:", "ʊ": "U", "u": "u:", "ʌ": "V", "ə": "@", "ɜ": "3:",
    "ɚ": "3", "ɝ": "3:", "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g", "ɡ": "g",
    "f": "f", "v": "v", "θ": "T", "ð": "D", "s": "s", "z": "z", "ʃ": "S", "ʒ": "Z", "h": "h",
    "m": "m", "n": "n", "ŋ": "N", "l": "l", "r": "r", "ɹ": "r", "w": "w", "j": "j", "x": "x",
    "ˈ": "'", "ˌ": ",", "ː": ":", ".": "", " ": " ",
}


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    text: str = ""
    children: list[_Element] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    """One written form and what is said for it, with the line of its lexeme."""

    written: str
    spoken: str
    line: int


def read(path: Path) -> list[Entry]:
    """The entries of the PLS file at `path`, or a ScriptError naming the file and line."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScriptError(f"the lexicon is larger than {MAX_BYTES // 1_000_000} MB",
                              path=path)
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScriptError("no such lexicon file; lexicon_file names a file next to the script",
                          path=path) from None
    except OSError as exc:
        raise ScriptError(f"cannot read the lexicon ({exc.strerror})", path=path) from None
    root = _parse(data, path)
    if root.tag != f"{NAMESPACE} lexicon":
        raise ScriptError(f"is not a PLS lexicon: its root must be <lexicon xmlns=\"{NAMESPACE}\">",
                          path=path, line=root.line)
    default = root.attrs.get("alphabet", "")
    entries: list[Entry] = []
    for lexeme in root.children:
        if lexeme.tag != f"{NAMESPACE} lexeme":
            continue
        graphemes = [c.text.strip() for c in lexeme.children if c.tag == f"{NAMESPACE} grapheme"]
        spoken = _spoken(lexeme, default, path)
        if not any(graphemes) or spoken is None:
            raise ScriptError("a lexeme needs a <grapheme> and an <alias> or <phoneme>",
                              path=path, line=lexeme.line)
        entries.extend(Entry(g, spoken, lexeme.line) for g in graphemes if g)
    return entries


def _spoken(lexeme: _Element, default: str, path: Path) -> str | None:
    for child in lexeme.children:
        text = " ".join(child.text.split())
        if child.tag == f"{NAMESPACE} alias" and text:
            return text
        if child.tag == f"{NAMESPACE} phoneme" and text:
            alphabet = child.attrs.get("alphabet", default)
            if alphabet == ESPEAK:
                if "[[" in text or "]]" in text:
                    raise ScriptError("an x-espeak phoneme must not contain [[ or ]]", path=path,
                                      line=child.line)
                return f"[[{text}]]"
            if alphabet == IPA:
                return f"[[{from_ipa(text, path, child.line)}]]"
            raise ScriptError(f"phoneme alphabet {alphabet!r} is not read; use x-espeak or ipa",
                              path=path, line=child.line)
    return None


def from_ipa(ipa: str, path: Path, line: int,
             instead: str = 'write the phoneme with alphabet="x-espeak"') -> str:
    """IPA (as used for English) in espeak-ng's phoneme names, or a ScriptError at `line`
    saying what to write `instead`."""
    try:
        return convert(ipa, _IPA_TO_ESPEAK)
    except UnknownSymbol as exc:
        raise ScriptError(f"the IPA symbol {exc.symbol!r} (U+{ord(exc.symbol):04X}) has no "
                          f"espeak-ng counterpart here; {instead}", path=path,
                          line=line) from None


def _parse(data: bytes, path: Path) -> _Element:
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[_Element] = []
    root: list[_Element] = []

    def refuse_doctype(*_: object) -> None:
        raise ScriptError("the lexicon has a DOCTYPE; remove it (entities are not read)",
                          path=path, line=parser.CurrentLineNumber)

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag, attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    def end(_: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ScriptError(f"the lexicon is not well-formed XML ({expat.errors.messages[exc.code]})",
                          path=path, line=exc.lineno) from None
    return root[0]


def write(entries: Sequence[tuple[str, str]], language: str, path: Path) -> None:
    """Write `entries` (written, spoken) as a PLS 1.0 file, whole or not at all.

    A spoken form that is one ``[[...]]`` becomes an x-espeak phoneme, any other an alias.
    """
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}lexicon", {
        "version": "1.0", "alphabet": ESPEAK,
        "{http://www.w3.org/XML/1998/namespace}lang": language})
    for written, spoken in entries:
        lexeme = ET.SubElement(root, f"{{{NAMESPACE}}}lexeme")
        ET.SubElement(lexeme, f"{{{NAMESPACE}}}grapheme").text = written
        inner = spoken.strip()
        if inner.startswith("[[") and inner.endswith("]]") and inner.count("[[") == 1:
            ET.SubElement(lexeme, f"{{{NAMESPACE}}}phoneme").text = inner[2:-2]
        else:
            ET.SubElement(lexeme, f"{{{NAMESPACE}}}alias").text = spoken
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    text = f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
    write_whole(path, text.encode("utf-8"), "the lexicon")
