"""Phoneme strings from one alphabet to another by table, longest symbols first."""

from __future__ import annotations

from collections.abc import Mapping


class UnknownSymbol(ValueError):
    """A symbol the table has no counterpart for."""

    def __init__(self, symbol: str):
        super().__init__(symbol)
        self.symbol = symbol


def convert(text: str, table: Mapping[str, str]) -> str:
    """`text` with each symbol replaced by the table's, or UnknownSymbol for the first unknown."""
    longest = max(len(key) for key in table)
    out: list[str] = []
    i = 0
    while i < len(text):
        for size in range(longest, 0, -1):
            piece = text[i:i + size]
            if piece in table:
                out.append(table[piece])
                i += size
                break
        else:
            raise UnknownSymbol(text[i])
    return "".join(out)
