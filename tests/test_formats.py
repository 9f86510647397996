"""The output formats registry: every format named in the schema has a writer and a reader
that agree (what is written reads back), an extension its files carry, and a card line."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO
from hardneg.formats import FORMATS, count_rows, open_writer, read_mined
from hardneg.options import MiningOptions
from hardneg.readers import MinedRow
from hardneg.writers import Record, Writer

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_the_schema_and_the_option_doc_name_exactly_the_registered_formats():
    assert SCHEMA["$defs"]["mining"]["properties"]["output_format"]["enum"] == list(FORMATS)
    doc = next(f for f in MiningOptions.__dataclass_fields__.values() if f.name == "output_format").metadata["doc"]
    assert all(f"`{name}`" in doc for name in FORMATS)
    assert MiningOptions().output_format in FORMATS


def _write(path, fmt: str, with_scores: bool) -> tuple[list[MinedRow], int]:
    """Two queries (one with two positives), written through the format's writer; the rows
    its reader should give back, and the rows the file holds."""
    w = open_writer(path, fmt, 2, with_scores)
    assert isinstance(w, Writer)
    frags = w.fragments(["d1", "d2", "d3", "d4"], ["", "Title", "", "T é"], ["one", "two", 'th"ree', "four\n"])
    texts = ["one", "Title two", 'th"ree', "T é four\n"]
    w.add(Record("q1", "query one", [frags[0]], [0.9], [frags[1], frags[2]], [0.5, 0.4], [3, 7]))
    w.add(Record("q2", "query\ttwo", [frags[3], frags[1]], [0.8, 0.7], [frags[0], frags[2]], [0.3, 0.2], [2, 5]))
    w.close()
    first = MinedRow("query one", [texts[0]], [texts[1], texts[2]])
    per_positive = [
        first,
        MinedRow("query\ttwo", [texts[3]], [texts[0], texts[2]]),
        MinedRow("query\ttwo", [texts[1]], [texts[0], texts[2]]),
    ]
    per_query = [first, MinedRow("query\ttwo", [texts[3], texts[1]], [texts[0], texts[2]])]
    if fmt == "labeled-pair":  # one file row per positive and per negative
        if with_scores:  # no label column: each anchor's first row reads as its one positive
            return [first, MinedRow("query\ttwo", [texts[3]], [texts[1], texts[0], texts[2]])], 7
        return per_query, 7
    if fmt == "triplet":  # one file row per (positive, negative)
        return per_positive, 6
    if FORMATS[fmt].one_positive:
        return per_positive, 3
    return per_query, 2


@pytest.mark.parametrize("with_scores", [False, True])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_reads_back_what_its_writer_wrote(tmp_path, fmt, with_scores):
    path = tmp_path / f"mined.{FORMATS[fmt].extension}"
    expected, rows = _write(path, fmt, with_scores)
    assert list(read_mined(path, fmt)) == expected
    assert count_rows(path, fmt) == rows
    assert (path.read_bytes()[:4] == b"PAR1") == (FORMATS[fmt].extension == "parquet")


def test_a_writer_leaves_nothing_behind_when_aborted(tmp_path):
    for fmt, f in FORMATS.items():
        w = open_writer(tmp_path / f"x.{f.extension}", fmt, 1, False)
        w.abort(RuntimeError("stop"))
    assert list(tmp_path.iterdir()) == []


def test_every_format_has_a_card_line_with_a_place_for_scores():
    assert all("{scores}" in f.description for f in FORMATS.values())
