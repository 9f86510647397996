"""The output formats registry: every format named in the schema has a writer and a reader
that agree (what is written reads back), an extension its files carry, and a card line."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO
from hardneg.formats import FORMATS, count_rows, open_writer, read_mined
from hardneg.formats.readers import MinedRow
from hardneg.formats.writers import Record, Writer
from hardneg.options import MiningOptions

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


@pytest.mark.parametrize("with_scores", [False, True])
def test_json_lines_are_json_dumps_bytes_for_a_whole_run(tmp_path, with_scores):
    """A run of many queries written at once (Arrow kernels, no loop per query): every line
    is exactly ``json.dumps(record, ensure_ascii=False)``, for both JSON formats."""
    import json
    import random

    from hardneg.data.texts import passage_text
    from hardneg.formats.writers import Records

    rng = random.Random(7)
    alphabet = ["a", "é", '"', "\\", "\n", "\t", "\u2028", "\x00", "\x7f", "日", " ", "😀"]
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(40)]
    docs = [(f"d{i}", rng.choice(["", rng.choice(words)]), rng.choice(words)) for i in range(25)]
    recs = []
    for q in range(60):
        pos = rng.sample(range(25), rng.randint(1, 3))
        neg = rng.sample(range(25), rng.randint(0, 5))
        recs.append(
            (
                f"q{q}",
                rng.choice(words),
                pos,
                [rng.uniform(-1, 1) for _ in pos],
                neg,
                [rng.uniform(-1, 1) for _ in neg],
                [rng.randint(-1, 99) for _ in neg],
            )
        )
    for fmt in ("tevatron", "flagembedding"):
        path = tmp_path / f"{fmt}-{with_scores}.jsonl"
        w = open_writer(path, fmt, 5, with_scores)
        frags = w.fragments(*zip(*docs, strict=True))
        run = Records.of(
            [
                Record(qid, q, [frags[i] for i in p], ps, [frags[i] for i in n], ns, nr)
                for qid, q, p, ps, n, ns, nr in recs
            ]
        )
        w.add_run(run)
        w.close()
        want = []
        for qid, q, p, ps, n, ns, nr in recs:
            if fmt == "tevatron":

                def passage(i, score=None, rank=None):
                    d = dict(zip(("docid", "title", "text"), docs[i], strict=True))
                    if with_scores:
                        d["score"] = round(score, 6)
                        if rank is not None:
                            d["rank"] = rank
                    return d

                rec = {
                    "query_id": qid,
                    "query": q,
                    "positive_passages": [passage(i, s) for i, s in zip(p, ps, strict=True)],
                    "negative_passages": [passage(i, s, r) for i, s, r in zip(n, ns, nr, strict=True)],
                }
            else:
                rec = {
                    "query": q,
                    "pos": [passage_text(*docs[i][1:]) for i in p],
                    "neg": [passage_text(*docs[i][1:]) for i in n],
                }
                if with_scores:
                    rec |= {"pos_scores": [round(s, 6) for s in ps], "neg_scores": [round(s, 6) for s in ns]}
            want.append(json.dumps(rec, ensure_ascii=False) + "\n")
        assert path.read_bytes() == "".join(want).encode("utf-8"), fmt
