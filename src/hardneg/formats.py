"""The output formats: the one place a format is named.

Each entry gives the file extension, the card's description of the file, the writer
(:mod:`hardneg.writers`) and the reader (:mod:`hardneg.readers`). The schema's enum of
``mining.output_format`` is generated from it (:mod:`hardneg.docs`), and
``tests/test_formats.py`` checks that every entry writes what it reads back.

Imported while the DAG is built: the writers and readers are imported only when used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Format:
    """One output format."""

    name: str
    extension: str  # file extension of the mined file, without the dot
    description: str  # the card's line; ``{scores}`` is where output_scores adds its fields
    writer: str  # class in hardneg.writers
    reader: str  # function in hardneg.readers: path -> iterator of MinedRow

    def writer_class(self):
        return getattr(importlib.import_module("hardneg.writers"), self.writer)

    def reader_function(self):
        return getattr(importlib.import_module("hardneg.readers"), self.reader)


FORMATS = {
    f.name: f
    for f in (
        Format(
            name="tevatron",
            extension="jsonl",
            description=(
                "one JSON object per line: `query_id` (string), `query` (string), `positive_passages` and "
                "`negative_passages` (lists of `{docid, title, text}`{scores})"
            ),
            writer="TevatronWriter",
            reader="read_tevatron",
        ),
        Format(
            name="flagembedding",
            extension="jsonl",
            description="one JSON object per line: `query` (string), `pos` and `neg` (lists of strings){scores}",
            writer="FlagEmbeddingWriter",
            reader="read_flagembedding",
        ),
        Format(
            name="sentence-transformers",
            extension="parquet",
            description=(
                "parquet: `anchor`, `positive`, `negative_1` .. `negative_N` (strings){scores}; one row per positive"
            ),
            writer="SentenceTransformersWriter",
            reader="read_sentence_transformers",
        ),
    )
}


def open_writer(path, fmt: str, num_negatives: int, with_scores: bool):
    """An atomic writer of ``fmt`` at ``path`` (:class:`hardneg.writers.Writer`)."""
    return FORMATS[fmt].writer_class()(path, num_negatives, with_scores)


def read_mined(path, fmt: str):
    """Every row of a mined file of ``fmt``, in file order, as
    :class:`hardneg.readers.MinedRow` (query, positive texts, negative texts)."""
    return FORMATS[fmt].reader_function()(path)


def count_rows(path, fmt: str) -> int:
    """Rows of a mined file of ``fmt`` (lines, or parquet rows), without parsing them."""
    from .readers import count_lines, count_parquet_rows

    return count_parquet_rows(path) if FORMATS[fmt].extension == "parquet" else count_lines(path)
