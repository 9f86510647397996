"""Loaders and the prepare stage on good and bad input (real files in tmp_path)."""

from __future__ import annotations

import gzip
import json
import zipfile
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stages import prepare_dataset

from hardneg.data.beir import BeirSource
from hardneg.data.loaders import BadRows, iter_medmcqa, iter_pairs
from hardneg.io import InputError


def write_gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for line in lines:
            fh.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def pairs(path, cap=0, max_rows=None):
    bad, dropped = BadRows(cap=cap), Counter()
    return list(iter_pairs(path, bad, dropped, max_rows)), bad, dropped


def test_pairs_three_shapes(tmp_path):
    f = write_gz(
        tmp_path / "p.jsonl.gz",
        [
            ["q0", "p0"],
            {"query": "q1", "pos": ["a", " ", "b"]},
            {"set": ["q2", "s1", "", "s2"]},
            {"set": ["lonely"]},
        ],
    )
    rows, bad, dropped = pairs(f)
    assert [(r.index, r.query, [t for _, t in r.positives]) for r in rows] == [
        (0, "q0", ["p0"]),
        (1, "q1", ["a", "b"]),
        (2, "q2", ["s1", "s2"]),
    ]
    assert dropped["set_too_short"] == 1
    assert dropped["blank_positive_removed"] == 2
    assert bad.total == 0


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"query": "q", "pos": ["a"', "malformed JSON: the line is cut off (the value is incomplete at column 27)"),
        ('{"query": "q", "pos": ["a\n', "malformed JSON: the line is cut off"),
        ('{"query": "q", "pos": ["a"]]', "malformed JSON (Expecting ',' delimiter at column 28)"),
        ('["a", "b\x01"]', "malformed JSON (Invalid control character at column 9)"),
        ("null", "unknown line shape null"),
        ("1.5", "unknown line shape float"),
        ('"abc"', "unknown line shape str"),
        ("true", "unknown line shape bool"),
        ("{}", "unknown line shape object with keys"),
        ("[]", "a list line must hold exactly 2 strings, got list of 0 item(s)"),
        ("[1, 2]", "a list line must hold exactly 2 strings"),
        ('["a", "b", "c"]', "a list line must hold exactly 2 strings"),
        ('{"question": "q", "answer": "a"}', "unknown line shape"),
        ('["\\ud83d smile", "p"]', "text is not encodable as UTF-8 (lone surrogate?)"),
        ('{"set": ["q", "ok", "bad \\udc00"]}', "text is not encodable as UTF-8 (lone surrogate?)"),
    ],
)
def test_pairs_bad_line_names_file_and_line(tmp_path, line, message):
    f = write_gz(tmp_path / "bad.jsonl.gz", [["q0", "p0"], ["q1", "p1"], line])
    with pytest.raises(InputError) as exc:
        pairs(f)
    assert f"{f}:3: {message}" in str(exc.value)


def test_degenerate_rows_are_dropped_and_counted_not_bad(tmp_path):
    """The original drops ["", p] and {"query": q, "pos": []}; we also drop [" ", p] and
    [q, ""] (README: what we keep and what we fix). None of them is a bad row."""
    lines = [
        ["q0", "p0"],
        ["", "p1"],
        [" ", "p2"],
        ["q3", ""],
        {"query": "q4", "pos": []},
        {"query": "q5", "pos": ["", " "]},
        {"query": "q6", "pos": ["", "p6"]},
        "",
        ["q8", "p8"],
    ]
    rows, bad, dropped = pairs(write_gz(tmp_path / "d.jsonl.gz", lines))
    assert [(r.index, r.query) for r in rows] == [(0, "q0"), (6, "q6"), (8, "q8")]
    assert bad.total == 0
    assert dropped == Counter(
        rows_read=9, empty_query=1, blank_query=1, no_positive=3, blank_positive_removed=1, blank_line=1
    )


def test_lone_surrogate_is_a_bad_row_not_a_crash(tmp_path):
    """Valid JSON ("\\ud83d") that cannot be written as UTF-8: skipped and counted with
    its line within max_bad_rows, and prepare writes the other rows."""
    f = write_gz(tmp_path / "s.jsonl.gz", [["q0", "p0"], '["broken \\ud83d", "p1"]', ["q2", "p2 \ud83d\ude00"]])
    t = {k: tmp_path / f"{k}.parquet" for k in ("q", "p", "r")}
    stats = prepare_dataset("pairs", f, (t["q"], t["p"], t["r"]), tmp_path / "s.json", dataset="s", max_bad_rows=5)
    assert stats["bad_rows_skipped"] == {"undecodable_text": 1}
    assert stats["bad_row_examples"][0].startswith(f"{f}:2: text is not encodable as UTF-8")
    assert pq.read_table(t["q"]).column("text").to_pylist() == ["q0", "q2"]
    assert pq.read_table(t["p"]).column("text").to_pylist() == ["p0", "p2 \U0001f600"]


def test_pairs_non_utf8(tmp_path):
    f = tmp_path / "latin.jsonl"
    f.write_bytes(b'["ok", "fine"]\n["caf\xe9", "x"]\n')
    with pytest.raises(InputError, match=rf"{f}:2: line is not valid UTF-8"):
        pairs(f)


def test_max_bad_rows_skips_counts_and_caps(tmp_path):
    f = write_gz(tmp_path / "p.jsonl.gz", [["q0", "p0"], "{oops", ["", "p"], "[1, 2]", ["q4", "p4"]])
    rows, bad, dropped = pairs(f, cap=2)
    assert [r.query for r in rows] == ["q0", "q4"]
    assert bad.counts == {"malformed_json": 1, "unknown_shape": 1}
    assert dropped["empty_query"] == 1
    with pytest.raises(InputError, match=r"p.jsonl.gz:4: a list line must .*; more than max_bad_rows=1"):
        pairs(f, cap=1)


def test_max_rows_stops_reading(tmp_path):
    f = write_gz(tmp_path / "p.jsonl.gz", [[f"q{i}", f"p{i}"] for i in range(10)] + ["{broken"])
    rows, _, dropped = pairs(f, max_rows=4)
    assert [r.index for r in rows] == [0, 1, 2, 3]
    assert dropped["rows_read"] == 4


def test_truncated_gzip(tmp_path):
    full = write_gz(tmp_path / "full.jsonl.gz", [[f"question {i}", f"passage {i} " * 20] for i in range(2000)])
    data = full.read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut.jsonl.gz: truncated or corrupt gzip after line \d+"):
        pairs(cut)


def write_medmcqa(path, rows, columns=("id", "question", "opa", "exp")):
    cols = {c: [r.get(c) for r in rows] for c in columns}
    pq.write_table(pa.table(cols), path)
    return path


def test_medmcqa_question_to_exp_drops_empty(tmp_path):
    f = write_medmcqa(
        tmp_path / "m.parquet",
        [
            {"id": "a", "question": "Q1?", "exp": "because"},
            {"id": "b", "question": "Q2?", "exp": None},
            {"id": "c", "question": "Q3?", "exp": "  "},
            {"id": "d", "question": "Q4?", "exp": "E4"},
        ],
    )
    bad, dropped = BadRows(), Counter()
    rows = list(iter_medmcqa(f, bad, dropped))
    assert [(r.index, r.query, r.positives) for r in rows] == [(0, "Q1?", [("", "because")]), (3, "Q4?", [("", "E4")])]
    assert dropped["empty_exp"] == 2


def test_medmcqa_missing_column(tmp_path):
    f = write_medmcqa(tmp_path / "m.parquet", [{"id": "a", "question": "Q"}], columns=("id", "question"))
    with pytest.raises(InputError, match=r"m.parquet: parquet is missing column\(s\) exp"):
        list(iter_medmcqa(f, BadRows(), Counter()))


def make_beir(root, corpus, queries, train, dev=()):
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(c) + "\n" for c in corpus))
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    for name, rows in (("train", train), ("dev", dev)):
        (root / "qrels" / f"{name}.tsv").write_text(
            "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in rows)
        )
    return root


def prepare(tmp_path, fmt, src, **kw):
    out = tmp_path / "out"
    return prepare_dataset(
        fmt, src, (out / "q.parquet", out / "p.parquet", out / "r.parquet"), out / "s.json", dataset="t", **kw
    ), out


def test_beir_mines_only_train_queries_and_counts_missing(tmp_path):
    root = make_beir(
        tmp_path / "beir",
        corpus=[
            {"_id": "d1", "title": "T1", "text": "x"},
            {"_id": "d2", "title": "", "text": "y"},
            {"_id": "d1", "title": "dup", "text": "z"},
        ],
        queries=[{"_id": "q1", "text": "train q"}, {"_id": "q2", "text": "dev q"}, {"_id": "q3", "text": "t2"}],
        train=[("q1", "d1"), ("q1", "d2"), ("q3", "gone"), ("q9", "d1")],
        dev=[("q2", "d1")],
    )
    stats, out = prepare(tmp_path, "beir", root)
    q = pq.read_table(out / "q.parquet").to_pylist()
    assert q == [{"query_id": "q1", "text": "train q"}]
    assert pq.read_table(out / "p.parquet").column("docid").to_pylist() == ["d1", "d2"]
    assert pq.read_table(out / "r.parquet").to_pylist() == [
        {"query_idx": 0, "passage_idx": 0},
        {"query_idx": 0, "passage_idx": 1},
    ]
    d = stats["details"]
    assert d["qrel_missing_corpus_id"] == 1
    assert d["qrel_missing_query_id"] == 1
    assert d["duplicate_corpus_id_skipped"] == 1
    assert d["queries_not_in_qrels"] == 1


def test_beir_all_qrels_missing_fails(tmp_path):
    root = make_beir(tmp_path / "b", [{"_id": "d1", "text": "x"}], [{"_id": "q1", "text": "q"}], [("q1", "nope")])
    with pytest.raises(InputError, match="every qrels row names a missing corpus or query id"):
        prepare(tmp_path, "beir", root)


def test_beir_zip_without_corpus(tmp_path):
    z = tmp_path / "hotpotqa.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("hotpotqa/queries.jsonl", "")
        zf.writestr("hotpotqa/qrels/train.tsv", "query-id\tcorpus-id\tscore\n")
    with pytest.raises(InputError, match=r"hotpotqa.zip: zip has no corpus.jsonl"):
        BeirSource(z)


def test_beir_zip_reads_members_in_place(tmp_path):
    root = make_beir(
        tmp_path / "hotpotqa", [{"_id": "d1", "title": "", "text": "x"}], [{"_id": "q1", "text": "q"}], [("q1", "d1")]
    )
    z = tmp_path / "hotpotqa.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in root.rglob("*"):
            if f.is_file():
                zf.write(f, f"hotpotqa/{f.relative_to(root)}")
    stats, _ = prepare(tmp_path, "beir", z)
    assert (stats["queries"], stats["passages"], stats["qrels"]) == (1, 1, 1)


def test_pairs_corpus_dedup_and_ids(tmp_path):
    f = write_gz(
        tmp_path / "p.jsonl.gz",
        [["qa", "shared"], ["qb", "own"], ["qa", "shared"], {"set": ["qc", "own", "own", "new"]}],
    )
    stats, out = prepare(tmp_path, "pairs", f)
    assert pq.read_table(out / "q.parquet").to_pylist() == [
        {"query_id": f"train-{i}", "text": t} for i, t in enumerate(["qa", "qb", "qa", "qc"])
    ]
    assert pq.read_table(out / "p.parquet").to_pylist() == [
        {"docid": "0", "title": "", "text": "shared"},
        {"docid": "1", "title": "", "text": "own"},
        {"docid": "2", "title": "", "text": "new"},
    ]
    assert pq.read_table(out / "r.parquet").to_pylist() == [
        {"query_idx": q, "passage_idx": p} for q, p in [(0, 0), (1, 1), (2, 0), (3, 1), (3, 2)]
    ]
    assert stats["details"]["duplicate_positive_in_row"] == 1


def test_empty_dataset_is_an_error_and_writes_nothing(tmp_path):
    f = write_gz(tmp_path / "p.jsonl.gz", [{"set": ["only"]}])
    with pytest.raises(InputError, match="yields no query with a positive"):
        prepare(tmp_path, "pairs", f)
    assert not list((tmp_path / "out").glob("*.parquet"))


def test_query_twins_point_at_the_first_passage_with_the_same_embedded_text(tmp_path):
    """A query whose text is also a passage (paraphrase sets, duplicate questions) maps to
    the first such passage row; a titled passage embeds as "title text", so its bare text
    is no twin."""
    import numpy as np

    rows = [["a", "b"], ["b", "a"], ["c", "d"], ["d", "b"], ["e", "f"]]
    f = tmp_path / "p.jsonl.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    stats = prepare_dataset(
        "pairs",
        f,
        (out / "q.parquet", out / "p.parquet", out / "r.parquet"),
        out / "s.json",
        dataset="t",
        out_twins=out / "tw.npy",
    )
    q = pq.read_table(out / "q.parquet").column("text").to_pylist()
    p = pq.read_table(out / "p.parquet").column("text").to_pylist()
    twins = np.load(out / "tw.npy")
    assert twins.tolist() == [p.index(t) if t in p else -1 for t in q]
    assert stats["queries_also_passages"] == 3  # a, b and d are passages too
    root = make_beir(
        tmp_path / "beir",
        corpus=[{"_id": "d1", "title": "T", "text": "q one"}, {"_id": "d2", "title": "", "text": "q two"}],
        queries=[{"_id": "q1", "text": "q one"}, {"_id": "q2", "text": "q two"}],
        train=[("q1", "d2"), ("q2", "d1")],
    )
    stats, out = prepare(tmp_path / "b", "beir", root, out_twins=tmp_path / "b" / "tw.npy")
    assert np.load(tmp_path / "b" / "tw.npy").tolist() == [-1, 1]


# ---------------------------------------------------------------- regressions found by fuzzing


@pytest.mark.parametrize("line", ["[" * 100_000, '{"a":' * 100_000, "[" + "7" * 5000 + ', "p"]'])
def test_deeply_nested_or_huge_integer_json_is_a_bad_row_with_its_line(tmp_path, line):
    """json.loads raises RecursionError for deep nesting and ValueError for integers over
    4,300 digits: both are malformed_json rows naming the file and line, not tracebacks."""
    f = write_gz(tmp_path / "deep.jsonl.gz", [["q0", "p0"], line, ["q2", "p2"]])
    with pytest.raises(InputError, match=rf"^{f}:2: malformed JSON"):
        pairs(f)
    rows, bad, _ = pairs(f, cap=5)
    assert [r.query for r in rows] == ["q0", "q2"]
    assert bad.counts == {"malformed_json": 1}


@pytest.mark.parametrize("member", ["corpus.jsonl", "queries.jsonl"])
def test_beir_deeply_nested_line_is_a_bad_row(tmp_path, member):
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    files = {
        "corpus.jsonl": [{"_id": "d0", "title": "", "text": "a passage"}],
        "queries.jsonl": [{"_id": "q0", "text": "a question"}],
    }
    for name, rows in files.items():
        lines = [json.dumps(r) for r in rows] + (["[" * 100_000] if name == member else [])
        (root / name).write_text("\n".join(lines) + "\n")
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td0\t1\n")
    out = {k: tmp_path / f"{k}.parquet" for k in ("q", "p", "r")}
    with pytest.raises(InputError, match=rf"^{root / member}:2: malformed JSON \(nested too deeply"):
        prepare_dataset("beir", root, (out["q"], out["p"], out["r"]), tmp_path / "s.json", dataset="b")
    stats = prepare_dataset(
        "beir", root, (out["q"], out["p"], out["r"]), tmp_path / "s.json", dataset="b", max_bad_rows=1
    )
    assert stats["bad_rows_skipped"] == {"malformed_json": 1}
    assert stats["accounting"][str(root / member)] == {"read": 2, "kept": 1, "dropped": 0, "bad": 1}


@pytest.mark.parametrize(
    "column, values, found",
    [("exp", [1, 2], "int64"), ("question", [1.5, 2.5], "double"), ("exp", [b"x", b"y"], "binary")],
)
def test_medmcqa_column_of_the_wrong_type_names_column_and_type(tmp_path, column, values, found):
    cols = {"question": ["q0", "q1"], "exp": ["e0", "e1"], column: values}
    f = tmp_path / "m.parquet"
    pq.write_table(pa.table(cols), f)
    with pytest.raises(InputError, match=rf"^{f}: column '{column}' must hold strings, found type {found}$"):
        list(iter_medmcqa(f, BadRows(), Counter()))


def test_qrels_bad_lines_are_bad_rows_with_their_line(tmp_path):
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text('{"_id": "d0", "text": "a passage"}\n')
    (root / "queries.jsonl").write_text('{"_id": "q0", "text": "a question"}\n')
    (root / "qrels" / "train.tsv").write_bytes(b"query-id\tcorpus-id\tscore\nq0\td0\t1\n\xff\td0\t1\nq0\n\td0\t1\n")
    out = {k: tmp_path / f"{k}.parquet" for k in ("q", "p", "r")}
    with pytest.raises(InputError, match=r"train.tsv:3: qrels line is not valid UTF-8"):
        prepare_dataset("beir", root, (out["q"], out["p"], out["r"]), tmp_path / "s.json", dataset="b")
    stats = prepare_dataset(
        "beir", root, (out["q"], out["p"], out["r"]), tmp_path / "s.json", dataset="b", max_bad_rows=3
    )
    assert stats["bad_rows_skipped"] == {"malformed_qrel": 2, "not_utf8": 1}
    assert stats["accounting"][str(root / "qrels" / "train.tsv")] == {"read": 4, "kept": 1, "dropped": 0, "bad": 3}


def test_error_about_a_key_with_a_lone_surrogate_can_be_logged(tmp_path):
    """The message quotes the line's keys escaped, so the UTF-8 rule log can hold it."""
    f = tmp_path / "k.jsonl"
    f.write_text('["q0", "p0"]\n{"\\ud83d": 1, "a\\u0007": 2}\n')
    with pytest.raises(InputError) as exc:
        pairs(f)
    msg = str(exc.value)
    assert msg.startswith(f"{f}:2: unknown line shape object with keys ")
    assert "\\ud83d" in msg and "\\x07" in msg
    msg.encode("utf-8")


def test_medmcqa_string_column_with_invalid_utf8_names_the_file(tmp_path):
    """Found by the long fuzz run: pyarrow raises UnicodeDecodeError while reading such a
    column; it is an error naming the file and the row reached."""
    f = tmp_path / "m.parquet"
    pq.write_table(pa.table({"question": ["QQQQ first", "q1"], "exp": ["e0", "e1"]}), f, compression="none")
    data = f.read_bytes()
    assert b"QQQQ" in data  # in the data page and in the column statistics
    f.write_bytes(data.replace(b"QQQQ", b"\xc1QQQ"))
    with pytest.raises(InputError, match=rf"^{f}: corrupt parquet after row 0 \(UnicodeDecodeError: "):
        list(iter_medmcqa(f, BadRows(), Counter()))


@pytest.mark.parametrize("line", ["null", "1.5", '"abc"', "true", "{}", "[]", "[1,2]", '{"query": "q", "pos": ["a'])
def test_a_line_that_is_not_a_row_is_a_counted_bad_row_and_the_rows_add_up(tmp_path, line):
    """Through prepare: every JSON value that is not a row (``null`` included) is a bad row,
    and read = kept + dropped + bad."""
    f = write_gz(tmp_path / "pairs.jsonl.gz", [["q0", "p0"], line, ["q1", "p1"]])
    tables = [tmp_path / n for n in ("q.parquet", "p.parquet", "r.parquet")]
    stats = prepare_dataset("pairs", f, tables, tmp_path / "stats.json", max_bad_rows=1)
    assert sum(stats["bad_rows_skipped"].values()) == 1
    assert stats["accounting"][str(f)] == {"read": 3, "kept": 2, "dropped": 0, "bad": 1}
