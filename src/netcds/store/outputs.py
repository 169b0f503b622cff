"""How an evaluation's output document is kept in ``evaluation_outputs``: zstd-compressed JSON.

An output is ~100-230 KB of JSON (safety items with their citations make up most of it), and every
distinct evaluation the service answers is kept for the audit trail and replay. Compressed with
zstd (level 1) it is about 6x smaller (a 165 KB output: 28 KB), and compressing costs the store's
writer thread less than the bytes it no longer writes: SQLite writes every page twice in WAL mode (the
log, then the checkpoint), so a large text row was the most expensive part of storing a new
evaluation. The document is unchanged: decompressed, it is byte for byte the JSON the caller got, and
its sha256 is the row's ``hash``.

Rows written before schema revision 0003 keep their text in ``output_json``; a row holds exactly one
of the two forms (a check constraint says so), and :func:`output_text` reads either.
"""

from __future__ import annotations

import threading

import zstandard

LEVEL = 1  # ~0.2 ms per 165 KB output; level 3 (zstd's default) saves 4 % more bytes for 10 % more CPU

# one (de)compression context per thread, reused: a context is not thread-safe, and a new one per call
# (zstandard.compress / decompress) allocates its buffers each time: 134 against 44 µs to unpack a 175 KB
# output in a service process (api/memory.py), where buffers that size are mapped and unmapped per call
_CONTEXTS = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    found: zstandard.ZstdCompressor | None = getattr(_CONTEXTS, "compressor", None)
    if found is None:
        found = _CONTEXTS.compressor = zstandard.ZstdCompressor(level=LEVEL)
    return found


def _decompressor() -> zstandard.ZstdDecompressor:
    found: zstandard.ZstdDecompressor | None = getattr(_CONTEXTS, "decompressor", None)
    if found is None:
        found = _CONTEXTS.decompressor = zstandard.ZstdDecompressor()
    return found


def compress_output(document: bytes) -> bytes:
    """The stored form of an output's JSON bytes."""
    return _compressor().compress(document)


def decompress_output(stored: bytes) -> bytes:
    """An output's JSON bytes from its stored form."""
    return _decompressor().decompress(stored)


def output_text(text: str | None, compressed: bytes | None) -> str:
    """The output's JSON text from whichever form the row holds."""
    if text is not None:
        return text
    if compressed is None:  # the check constraint forbids it
        raise ValueError("evaluation output row holds neither form")
    return decompress_output(compressed).decode()
