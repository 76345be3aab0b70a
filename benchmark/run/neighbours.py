"""Hamming distance from each generated sample to its nearest training (or control) sample, vectorised.

Near-copies are samples a few cells away from a training sample: a copy with errors. To find them,
every sample is packed into 64-bit words — one bit per cell for binary tasks, a one-hot group of k
bits per cell for k symbols (two cells that differ then differ in exactly two bits) — and the
distance to all N references is XOR + popcount over the words, in chunks that keep the working set
near a few MB. M = 1024 against N = 16,384 six-by-six grids is 16.7 M word comparisons
(`python -m pytest -m perf tests/perf/test_near_copy_speed.py` measures it); no Python loop runs per sample.
"""

from __future__ import annotations

import math

import numpy as np

CHUNK_WORDS = 1 << 21  # XOR results held at once (16 MiB of uint64)


def _pack_codes(samples: np.ndarray, num_symbols: int) -> np.ndarray:
    """(n, *shape) in-range symbols → (n, words) uint64; cell Hamming distance = popcount(xor) / bits per difference."""
    samples = np.asarray(samples)
    flat = samples.reshape(len(samples), math.prod(samples.shape[1:]))
    if num_symbols <= 2:
        bits = (flat != 0).astype(np.uint8)
    else:
        clipped = np.clip(flat, 0, num_symbols - 1).astype(np.int64)
        bits = np.zeros((len(flat), flat.shape[1] * num_symbols), dtype=np.uint8)
        rows = np.repeat(np.arange(len(flat)), flat.shape[1])
        columns = (np.arange(flat.shape[1]) * num_symbols)[None, :] + clipped
        bits[rows, columns.reshape(-1)] = 1
    words = max(1, math.ceil(bits.shape[1] / 64))
    padded = np.zeros((len(bits), words * 64), dtype=np.uint8)
    padded[:, : bits.shape[1]] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")  # (n, words * 8) bytes
    return np.ascontiguousarray(packed).view(np.uint64).reshape(len(bits), words)


class HammingIndex:
    """Reference samples packed once per run; `nearest(samples)` gives each sample's distance to the closest one."""

    def __init__(self, references: np.ndarray, num_symbols: int) -> None:
        self.num_symbols = num_symbols
        self.codes = _pack_codes(references, num_symbols)
        self.bits_per_difference = 1 if num_symbols <= 2 else 2

    def __len__(self) -> int:
        return len(self.codes)

    def nearest(self, samples: np.ndarray) -> np.ndarray:
        """int64[n]: the smallest number of cells in which each sample differs from a reference (cells + 1 if none)."""
        queries = _pack_codes(samples, self.num_symbols)
        cells = math.prod(np.asarray(samples).shape[1:])
        if len(self.codes) == 0:
            return np.full(len(queries), cells + 1, dtype=np.int64)
        words = self.codes.shape[1]
        rows = max(1, CHUNK_WORDS // (len(self.codes) * words))
        out = np.empty(len(queries), dtype=np.int64)
        for start in range(0, len(queries), rows):
            block = queries[start : start + rows]
            differing = np.bitwise_count(block[:, None, :] ^ self.codes[None, :, :])  # (rows, N, words) uint8
            total = differing[:, :, 0].astype(np.uint16) if words == 1 else differing.sum(axis=2, dtype=np.uint16)
            out[start : start + rows] = total.min(axis=1)
        return out // self.bits_per_difference


__all__ = ["CHUNK_WORDS", "HammingIndex"]
