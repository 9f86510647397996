"""The output formats: the one place a format is named.

Each entry gives the file extension, the card's description of the file, the writer
(:mod:`hardneg.formats.writers`) and the reader (:mod:`hardneg.formats.readers`). The schema's enum of
``mining.output_format`` is generated from it (:mod:`hardneg.docs`), and
``tests/test_formats.py`` checks that every entry writes what it reads back.

Imported while the DAG is built: the writers and readers are imported only when used.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import asdict, dataclass

from ..options import MiningOptions


@dataclass(frozen=True, kw_only=True)
class Format:
    """One output format."""

    name: str
    extension: str  # file extension of the mined file, without the dot
    description: str  # the card's line; ``{scores}`` is where output_scores adds its fields
    writer: str  # class in hardneg.formats.writers
    reader: str  # function in hardneg.formats.readers: path -> iterator of MinedRow
    full_rows: bool = False  # fixed negative_1..N columns: only queries with N negatives are written
    one_positive: bool = False  # a row holds one positive (the judge cannot add positives to it)
    # sentence-transformers' shapes: a query's mined negatives in score order, hardest first,
    # as mine_hard_negatives writes them whatever the sampling (else: in sampled order)
    hardest_first: bool = False

    def describe(self, with_scores: bool, columns=("anchor", "positive")) -> str:
        """The card's line: the description with the output's column names and, with
        ``output_scores``, what the scores add."""
        extra = ""
        if with_scores:
            extra = (
                f", with {PARQUET_SCORES[self.writer]}"
                if self.writer in PARQUET_SCORES
                else ", with `score` (and `rank` for negatives)"
            )
        anchor, positive = columns
        text = self.description.replace("ANCHOR", anchor).replace("POSITIVE", positive)
        return text.replace("{scores}", extra)

    def writer_class(self):
        return getattr(importlib.import_module("hardneg.formats.writers"), self.writer)

    def reader_function(self):
        return getattr(importlib.import_module("hardneg.formats.readers"), self.reader)


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
        *(
            Format(
                name=name,
                extension="parquet",
                description=(
                    "parquet, sentence-transformers' n-tuple: `ANCHOR`, `POSITIVE`, `negative_1` .. `negative_N` "
                    "(strings){scores}; one row per positive, only queries with N negatives"
                ),
                writer="NTupleWriter",
                reader="read_n_tuple",
                full_rows=True,
                one_positive=True,
                hardest_first=True,
            )
            for name in ("sentence-transformers", "n-tuple")
        ),
        Format(
            name="triplet",
            extension="parquet",
            description=(
                "parquet, sentence-transformers' triplet: `ANCHOR`, `POSITIVE`, `negative` (strings){scores}; "
                "one row per positive and negative"
            ),
            writer="TripletWriter",
            reader="read_triplet",
            one_positive=True,
            hardest_first=True,
        ),
        Format(
            name="labeled-pair",
            extension="parquet",
            description=(
                "parquet, sentence-transformers' labeled-pair: `ANCHOR`, `POSITIVE` (a positive or a negative, "
                "string) and `label` (1 or 0, int64){scores}; a query's positives first, then its negatives"
            ),
            writer="LabeledPairWriter",
            reader="read_labeled_pair",
            one_positive=True,
            hardest_first=True,
        ),
        Format(
            name="labeled-list",
            extension="parquet",
            description=(
                "parquet, sentence-transformers' labeled-list: `ANCHOR` (string), `POSITIVE` (list: the positive, "
                "then the negatives) and `labels` (`[1, 0, ...]`, int64){scores}; one row per positive"
            ),
            writer="LabeledListWriter",
            reader="read_labeled_list",
            one_positive=True,
            hardest_first=True,
        ),
    )
}

# what output_scores adds, per parquet format (the JSON formats add `score` fields)
PARQUET_SCORES = {
    "NTupleWriter": "`scores` (`[positive, negative_1, ...]`, float64)",
    "TripletWriter": "`scores` (`[positive, negative]`, float64)",
    "LabeledPairWriter": "`score` (float64) in place of `label`",
    "LabeledListWriter": "`scores` (float64) in place of `labels`",
}


def file_tag(opts: MiningOptions) -> str:
    """What follows ``NAME.`` in the mined file's name. The seed recipe's file keeps its
    name (``NAME.jsonl``); any other format or setting names its format and a digest of its
    options (``NAME.triplet-1f2e3d4c.parquet``), so the files of two settings sit side by
    side and `datasets`, which caches a local file by its path, never serves one as the other."""
    ext = FORMATS[opts.output_format].extension
    if opts == MiningOptions():
        return ext
    digest = hashlib.sha256(json.dumps(asdict(opts), sort_keys=True).encode()).hexdigest()[:8]
    return f"{opts.output_format}-{digest}.{ext}"


def open_writer(path, fmt: str, num_negatives: int, with_scores: bool, columns=("anchor", "positive")):
    """An atomic writer of ``fmt`` at ``path`` (:class:`hardneg.formats.writers.Writer`);
    ``columns``: the parquet formats' anchor and positive column names."""
    return FORMATS[fmt].writer_class()(path, num_negatives, with_scores, columns)


def read_mined(path, fmt: str):
    """Every row of a mined file of ``fmt``, in file order, as
    :class:`hardneg.formats.readers.MinedRow` (query, positive texts, negative texts)."""
    return FORMATS[fmt].reader_function()(path)


def read_mined_rows(path, fmt: str, rows) -> dict:
    """Rows ``rows`` (0-based, as :func:`read_mined` counts them) of a mined file: a
    JSON-lines file reads only those lines; a parquet file is streamed."""
    from .readers import JSON_ROWS, json_rows

    f = FORMATS[fmt]
    if f.reader in JSON_ROWS:
        return json_rows(path, rows, JSON_ROWS[f.reader])
    wanted = set(rows)
    return {i: r for i, r in enumerate(read_mined(path, fmt)) if i in wanted}


def count_rows(path, fmt: str) -> int:
    """Rows of a mined file of ``fmt`` (lines, or parquet rows), without parsing them."""
    from .readers import count_lines, count_parquet_rows

    return count_parquet_rows(path) if FORMATS[fmt].extension == "parquet" else count_lines(path)
