"""Fast verifiers for binary rules: pack each sample to bytes, then combine per-byte lookup tables.

A rule whose per-constraint statistic is a sum over cells (a parity is a sum mod 2, a group count a
plain sum) is evaluated for every constraint at once: each byte of the packed sample indexes a
256-entry table holding that byte's contribution to every constraint, packed as bit fields into
uint64 words, and the contributions of all bytes are combined with XOR (parities) or + (counts).
A 6×6 sample is 5 bytes, so checking all its constraints costs 5 table lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 1 << 15  # rows per pass: the working set stays in cache
WORD_BITS = 64


def _pack_rows(flat: np.ndarray) -> np.ndarray:
    """(n, cells) 0/1 uint8 -> (n, ceil(cells/8)) bytes; cell 8j+i is bit 7-i of byte j."""
    return np.packbits(flat, axis=1)


@dataclass(frozen=True)
class PackedRule:
    """Per-byte lookup tables whose combination must equal `target`, word by word."""

    tables: np.ndarray  # (num_bytes, words, 256) uint64: each byte value's contribution
    target: np.ndarray  # (words,) uint64
    combine: str  # "xor" (parities) or "add" (counts in bit fields wide enough not to carry)

    @classmethod
    def from_contributions(cls, contributions: np.ndarray, target: np.ndarray, combine: str) -> PackedRule:
        """Tables from each cell's contribution words `(cells, words)` uint64."""
        if combine not in ("xor", "add"):
            raise ValueError(f"combine must be 'xor' or 'add', got {combine!r}")
        cells, words = contributions.shape
        num_bytes = -(-cells // 8)
        padded = np.zeros((num_bytes * 8, words), dtype=np.uint64)
        padded[:cells] = contributions
        values = np.arange(256, dtype=np.uint64)
        tables = np.zeros((num_bytes, words, 256), dtype=np.uint64)
        for bit in range(8):
            present = (values >> np.uint64(7 - bit)) & np.uint64(1)  # (256,) is cell 8j+bit set
            part = present[None, None, :] * padded[bit::8][:, :, None]  # (num_bytes, words, 256)
            if combine == "xor":
                tables ^= part
            else:
                tables += part
        return cls(tables=tables, target=np.asarray(target, dtype=np.uint64), combine=combine)

    @property
    def words(self) -> int:
        return self.tables.shape[1]

    def _accumulate(self, columns: np.ndarray, word: int) -> np.ndarray:
        """Combine the tables of one word over the byte columns `(num_bytes, n)` of a chunk."""
        acc = np.take(self.tables[0, word], columns[0])
        for j in range(1, len(columns)):
            part = np.take(self.tables[j, word], columns[j])
            if self.combine == "xor":
                acc ^= part
            else:
                acc += part
        return acc

    def combined(self, flat: np.ndarray) -> np.ndarray:
        """(n, words) uint64: the combined statistic of 0/1 uint8 samples `(n, cells)`."""
        out = np.empty((len(flat), self.words), dtype=np.uint64)
        for start in range(0, len(flat), CHUNK):
            columns = np.ascontiguousarray(_pack_rows(flat[start : start + CHUNK]).T)
            for word in range(self.words):
                out[start : start + CHUNK, word] = self._accumulate(columns, word)
        return out

    def holds_in_range(self, flat: np.ndarray, bad: np.ndarray | None) -> np.ndarray:
        """`holds`, and False for a sample with any out-of-range cell (`bad` from `Task.as_symbols`)."""
        ok = self.holds(flat)
        if bad is not None:
            ok &= ~bad.any(axis=1)
        return ok

    def holds(self, flat: np.ndarray) -> np.ndarray:
        """bool[n]: every constraint holds, for 0/1 uint8 samples `(n, cells)`; chunked to stay in cache."""
        result = np.empty(len(flat), dtype=bool)
        for start in range(0, len(flat), CHUNK):
            columns = np.ascontiguousarray(_pack_rows(flat[start : start + CHUNK]).T)
            ok = self._accumulate(columns, 0) == self.target[0]
            for word in range(1, self.words):
                ok &= self._accumulate(columns, word) == self.target[word]
            result[start : start + CHUNK] = ok
        return result


def _field_layout(num_fields: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Word index and bit shift of each of `num_fields` bit fields of `width` bits packed into uint64 words."""
    per_word = WORD_BITS // width
    index = np.arange(num_fields)
    return index // per_word, (index % per_word) * width


def membership_contributions(members: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contribution words of each cell for constraint membership `(constraints, cells)` 0/1.

    Returns `(contributions (cells, words), word (constraints,), shift (constraints,))`: a cell adds
    `1 << shift` in the word of every constraint it belongs to.
    """
    num_constraints, cells = members.shape
    word, shift = _field_layout(num_constraints, width)
    words = int(word.max()) + 1 if num_constraints else 1
    contributions = np.zeros((cells, words), dtype=np.uint64)
    for k in range(num_constraints):
        contributions[members[k] != 0, word[k]] += np.uint64(1) << np.uint64(shift[k])
    return contributions, word, shift


def fields_target(values: np.ndarray, word: np.ndarray, shift: np.ndarray, words: int) -> np.ndarray:
    """Pack one required value per constraint into target words."""
    target = np.zeros(words, dtype=np.uint64)
    for k, value in enumerate(np.asarray(values, dtype=np.uint64)):
        target[word[k]] += value << np.uint64(shift[k])
    return target


__all__ = ["CHUNK", "WORD_BITS", "PackedRule", "membership_contributions", "fields_target"]
