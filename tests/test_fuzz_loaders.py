"""Property-based tests of the four loaders through the prepare stage (hypothesis).

Inputs start from the valid shapes, filled with real English from the demo data, and are
then mutated: wrong JSON types in every field, deep nesting, huge strings and integers,
NUL bytes, BOMs, ``\\r`` and ``\\u2028``, lone surrogates, whole lines that are JSON but
no row (``null``, numbers, strings, empty containers), byte flips and truncation at the
line level and inside the gzip, zip or parquet file, qrels rows with missing, extra or
empty columns, and parquet columns of the wrong type.

The property: ``hardneg.data.prepare.run`` either returns stats in which every row read is kept,
dropped or bad, for every input file, or raises ``InputError`` naming the file. Nothing
else, and no hang. The example count comes from the hypothesis profile (``ci`` by
default; ``HYPOTHESIS_PROFILE=long`` for 10,000 examples per test, see tests/conftest.py).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import signal
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hardneg.data import prepare
from hardneg.io import InputError
from hardneg.stages.prepare import PrepareJob

REPO = Path(__file__).resolve().parents[1]
HANG_S = 120  # one prepare call on these few-kB inputs takes well under a second


def _demo_sentences() -> list[str]:
    """Real English: the texts of a few demo pair files."""
    out: list[str] = []
    for name in (
        "squad_pairs",
        "eli5_question_answer",
        "agnews",
        "stackexchange_duplicate_questions_title-body_title-body",
    ):
        with gzip.open(REPO / ".test" / "data" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                value = json.loads(line)
                items = value if isinstance(value, list) else value.get("set") or [value.get("query"), *value["pos"]]
                out += [t[:300] for t in items if isinstance(t, str)]
    return sorted(set(out))


SENTENCES = _demo_sentences()

# ------------------------------------------------------------------ strategies

english = st.sampled_from(SENTENCES)
text = st.one_of(
    *[english] * 6,
    st.text(max_size=40),
    st.sampled_from(["", " ", "\t", "x" * 100_000]),
)
wrong_type = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
pair_value = st.one_of(
    st.tuples(text, text).map(list),
    st.fixed_dictionaries({"query": text, "pos": st.lists(text, max_size=4)}),
    st.fixed_dictionaries({"set": st.lists(text, max_size=5)}),
)


@st.composite
def mutated_value(draw, value):
    """Replace one field (or one list item) of a JSON value with a value of the wrong type
    (one value in six)."""
    if draw(st.integers(0, 5)):
        return value
    if isinstance(value, list) and value:
        value = list(value)
        value[draw(st.integers(0, len(value) - 1))] = draw(wrong_type)
    elif isinstance(value, dict) and value:
        value = dict(value)
        key = draw(st.sampled_from(sorted(value)))
        inner = value[key]
        if isinstance(inner, list) and inner and draw(st.booleans()):
            inner = list(inner)
            inner[draw(st.integers(0, len(inner) - 1))] = draw(wrong_type)
            value[key] = inner
        else:
            value[key] = draw(st.one_of(wrong_type, st.just(None)))
        if draw(st.booleans()):
            value[draw(st.text(max_size=6))] = draw(wrong_type)
    return value


LINE_MUTATIONS = (
    "none",
    "flip",
    "truncate",
    "nul",
    "bom",
    "cr",
    "u2028",
    "surrogate",
    "deep",
    "bigint",
    "invalid_utf8",
    "not_a_row",
)
# whole lines that are JSON but no row: null and every other value a loader cannot take
NOT_A_ROW = [b"null", b"1.5", b'"abc"', b"true", b"false", b"0", b"{}", b"[]", b"[1,2]", b"[null, null]"]


@st.composite
def mutated_line(draw, raw: bytes) -> bytes:
    kind = draw(st.sampled_from(LINE_MUTATIONS))
    pos = draw(st.integers(0, max(0, len(raw))))
    if kind == "flip" and raw:
        i = min(pos, len(raw) - 1)
        return raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1 :]
    if kind == "truncate":
        return raw[:pos]
    if kind == "nul":
        return raw[:pos] + draw(st.sampled_from([b"\x00", b"\\u0000"])) + raw[pos:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    if kind == "cr":
        return raw[:pos] + draw(st.sampled_from([b"\r", b"\\r", b"\r\n"])) + raw[pos:]
    if kind == "u2028":
        return raw[:pos] + draw(st.sampled_from(["\u2028".encode(), b"\\u2028", "\u0085".encode()])) + raw[pos:]
    if kind == "surrogate":
        return raw.replace(b'"', b'"\\ud83d', 1) if b'"' in raw else raw
    if kind == "deep":
        depth = draw(st.sampled_from([1_000, 100_000]))
        return draw(st.sampled_from([b"[", b'{"a":'])) * depth
    if kind == "bigint":
        return b"[" + b"7" * draw(st.sampled_from([4_000, 5_000])) + b', "p"]'
    if kind == "not_a_row":
        return draw(st.sampled_from(NOT_A_ROW))
    if kind == "invalid_utf8":
        return raw[:pos] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])) + raw[pos:]
    return raw


@st.composite
def encoded_lines(draw, values: list) -> list[bytes]:
    """JSON lines of ``values``, one value in six of the wrong type, one line in six mutated."""
    out = []
    for value in values:
        value = draw(mutated_value(value))
        raw = json.dumps(value, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
        out.append(draw(mutated_line(raw)) if draw(st.integers(0, 5)) == 0 else raw)
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from([b"", b"   ", b"\t"])))
    return out


def join_lines(lines: list[bytes], trailing: bool = True) -> bytes:
    data = b"\n".join(lines)
    return data + b"\n" if trailing and lines else data


def line_count(data: bytes) -> int:
    """Lines as Python's binary file iteration sees them (split on b"\\n" only)."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@st.composite
def damaged(draw, data: bytes) -> tuple[bytes, bool]:
    """Byte flips or truncation of a whole file (gzip, zip or parquet); (bytes, intact)."""
    kind = draw(st.sampled_from(["none"] * 4 + ["flip", "truncate"]))
    if kind == "none" or not data:
        return data, True
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            out[draw(st.integers(0, len(out) - 1))] ^= draw(st.integers(1, 255))
        return bytes(out), False
    return data[: draw(st.integers(0, len(data) - 1))], False


# ------------------------------------------------------------------ the property


class Hang(Exception):
    pass


@contextmanager
def watchdog(seconds: int):
    def _alarm(signum, frame):
        raise Hang(f"prepare did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_prepare(fmt: str, raw: Path, out: Path, cap: int, columns=None) -> dict | None:
    """Stats, or None after an InputError that names ``raw``; any other exception fails."""
    try:
        with watchdog(HANG_S):
            outputs = SimpleNamespace(
                queries=out / "q.parquet",
                passages=out / "p.parquet",
                qrels=out / "r.parquet",
                negatives=out / "n.parquet",
                twins=out / "twins.npy",
                stats=out / "stats.json",
            )
            job = PrepareJob(
                dataset="fuzz", format=fmt, max_rows=None, max_bad_rows=cap, qrels_split="train", columns=columns
            )
            stats = prepare.run(SimpleNamespace(raw=raw), outputs, job)
    except InputError as exc:
        msg = str(exc)
        msg.encode("utf-8")  # the message can be written to the rule's log
        event(
            "InputError: "
            + re.sub(r"^\S+?(:\d+)?: |\(.*|\d+", "", msg.replace(str(raw), ""))[:50].encode("ascii", "replace").decode()
        )
        assert str(raw) in msg, f"InputError does not name the file {raw}: {msg}"
        assert "\n" not in msg.strip(), f"InputError is not one line: {msg!r}"
        # a row-level error names its line or row
        if any(k in msg for k in ("malformed JSON", "not valid UTF-8", "unknown line shape", "must hold exactly")):
            assert re.search(r":\d+: |: row \d+: ", msg), f"bad-row error names no line: {msg}"
        return None
    event("returned, bad rows skipped" if stats["bad_rows_skipped"] else "returned, no bad row")
    for file, t in stats["accounting"].items():
        assert t["read"] == t["kept"] + t["dropped"] + t["bad"], (file, t)
        assert min(t.values()) >= 0, (file, t)
    assert sum(stats["bad_rows_skipped"].values()) <= cap
    assert stats["queries"] >= 1 and stats["qrels"] >= stats["queries"]
    assert json.loads((out / "stats.json").read_text()) == stats
    return stats


FUZZ = settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
)
caps = st.sampled_from([0, 1000, 1000])


# ------------------------------------------------------------------ pairs


@FUZZ
@given(
    lines=st.lists(pair_value, min_size=1, max_size=16).flatmap(encoded_lines),
    cap=caps,
    gz=st.booleans(),
    trailing=st.booleans(),
    data=st.data(),
)
def test_pairs_loader_accounts_for_every_line_or_names_the_file(lines, cap, gz, trailing, data):
    body = join_lines(lines, trailing)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / ("pairs.jsonl.gz" if gz else "pairs.jsonl")
        intact = True
        if gz:
            blob, intact = data.draw(damaged(gzip.compress(body, mtime=0)))
            raw.write_bytes(blob)
        else:
            raw.write_bytes(body)
        stats = run_prepare("pairs", raw, tmp / "out", cap)
        if stats is not None and intact:
            assert stats["accounting"][str(raw)]["read"] == line_count(body)


# ------------------------------------------------------------------ medmcqa

COLUMN_KINDS = ("string",) * 6 + ("null_string", "int", "float", "bool", "binary", "list", "null", "missing")


def medmcqa_column(kind: str, texts: list[str], draw):
    n = len(texts)
    if kind == "string":
        return pa.array(texts, pa.string())
    if kind == "null_string":
        return pa.array([t if draw(st.booleans()) else None for t in texts], pa.string())
    if kind == "int":
        return pa.array([draw(st.integers(-(2**63), 2**63 - 1)) for _ in range(n)], pa.int64())
    if kind == "float":
        return pa.array([draw(st.floats()) for _ in range(n)], pa.float64())
    if kind == "bool":
        return pa.array([draw(st.booleans()) for _ in range(n)], pa.bool_())
    if kind == "binary":
        return pa.array([t.encode("utf-8", "surrogatepass") for t in texts], pa.binary())
    if kind == "list":
        return pa.array([[t] for t in texts], pa.list_(pa.string()))
    return pa.nulls(n)


@FUZZ
@given(
    texts=st.lists(st.tuples(text, text), max_size=10),
    kinds=st.tuples(st.sampled_from(COLUMN_KINDS), st.sampled_from(COLUMN_KINDS)),
    extra=st.booleans(),
    cap=caps,
    data=st.data(),
)
def test_medmcqa_loader_accounts_for_every_row_or_names_the_file(texts, kinds, extra, cap, data):
    cols = {}
    columns = list(zip(*texts, strict=True)) if texts else [(), ()]
    for name, kind, values in zip(("question", "exp"), kinds, columns, strict=True):
        if kind != "missing":
            cols[name] = medmcqa_column(kind, list(values), data.draw)
    if extra:
        cols["cop"] = pa.array(range(len(texts)), pa.int64())
    table = pa.table(cols) if cols else pa.table({"id": pa.array(range(len(texts)))})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=max(1, data.draw(st.integers(1, 8))))
    blob, intact = data.draw(damaged(buf.getvalue()))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / "medmcqa.parquet"
        raw.write_bytes(blob)
        stats = run_prepare("medmcqa", raw, tmp / "out", cap)
        if stats is not None and intact:
            assert stats["accounting"][str(raw)]["read"] == len(texts)
            assert kinds[0] in ("string", "null_string", "null") and kinds[1] in ("string", "null_string", "null")


# ------------------------------------------------------------------ beir

QRELS_HEADERS = [b"query-id\tcorpus-id\tscore"] * 8 + [
    b"corpus-id\tquery-id\tscore\textra",
    b"query-id\tcorpus-id",
    b"qid\tdocid\tscore",
    b"\xef\xbb\xbfquery-id\tcorpus-id\tscore",
    b"",
]


@st.composite
def beir_members(draw) -> dict[str, bytes]:
    """A consistent BeIR dataset (qrels name ids that exist, mostly), then mutated: wrong
    types, damaged lines, and qrels rows with missing, extra or empty columns."""
    n_docs, n_queries = draw(st.integers(1, 12)), draw(st.integers(1, 8))
    doc_ids = [draw(st.sampled_from([f"d{i}", i])) for i in range(n_docs)]
    docs = [{"_id": d, "title": draw(st.one_of(text, st.just(""))), "text": draw(text)} for d in doc_ids]
    queries = [{"_id": f"q{i}", "text": draw(text)} for i in range(n_queries)]
    header = draw(st.sampled_from(QRELS_HEADERS))
    swapped = header.startswith(b"corpus-id")
    rows = [header]
    for _ in range(draw(st.integers(0, 16))):
        q = draw(st.sampled_from([f"q{i}" for i in range(n_queries + 1)])).encode()  # q{n} is missing
        c = str(draw(st.sampled_from(doc_ids + ["missing"]))).encode()
        fields = [c, q] if swapped else [q, c]
        shape = draw(st.sampled_from(["ok"] * 12 + ["missing", "extra", "empty", "mutate"]))
        if shape == "missing":
            fields = fields[:1]
        elif shape == "extra":
            fields += [b"1", b"x", b"y"]
        elif shape == "empty":
            fields[draw(st.integers(0, 1))] = b""
        else:
            fields.append(b"1")
        row = b"\t".join(fields)
        rows.append(draw(mutated_line(row)) if shape == "mutate" else row)
    return {
        "corpus.jsonl": join_lines(draw(encoded_lines(docs))),
        "queries.jsonl": join_lines(draw(encoded_lines(queries))),
        "qrels/train.tsv": join_lines(rows, draw(st.booleans())),
    }


@FUZZ
@given(members=beir_members(), as_zip=st.booleans(), cap=caps, data=st.data())
def test_beir_loader_accounts_for_every_line_or_names_the_file(members, as_zip, cap, data):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        intact = True
        if as_zip:
            buf = io.BytesIO()
            method = data.draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
            with zipfile.ZipFile(buf, "w", method) as zf:
                for name, body in members.items():
                    zf.writestr(f"hotpotqa/{name}", body)
            blob, intact = data.draw(damaged(buf.getvalue()))
            raw = tmp / "hotpotqa.zip"
            raw.write_bytes(blob)
        else:
            raw = tmp / "hotpotqa"
            for name, body in members.items():
                (raw / name).parent.mkdir(parents=True, exist_ok=True)
                (raw / name).write_bytes(body)
        stats = run_prepare("beir", raw, tmp / "out", cap)
        if stats is not None and intact:
            reads = {Path(k.split("!")[-1]).name: v["read"] for k, v in stats["accounting"].items()}
            assert reads["corpus.jsonl"] == line_count(members["corpus.jsonl"])
            assert reads["queries.jsonl"] == line_count(members["queries.jsonl"])


# ------------------------------------------------------------------ table

CELL_KINDS = COLUMN_KINDS + ("list", "list_with_null", "json_list")
TABLE_FILES = ("parquet", "jsonl", "jsonl.gz", "csv", "csv.gz", "tsv", "arrow")


def table_column(kind: str, texts: list[str], draw):
    if kind == "list_with_null":
        return pa.array([[t, None] for t in texts], pa.list_(pa.string()))
    if kind == "json_list":
        return pa.array([json.dumps([t]) for t in texts], pa.string())
    return medmcqa_column(kind, texts, draw)


def write_table_file(table: pa.Table, kind: str, draw, unbalanced: bool = False) -> bytes:
    """One table as the bytes of a ``kind`` file; text formats write lists as JSON.
    ``unbalanced``: a CSV/TSV record (drawn) gets one field too many or too few."""
    if kind == "parquet":
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=max(1, draw(st.integers(1, 8))))
        return buf.getvalue()
    if kind == "arrow":
        import pyarrow.feather as feather

        buf = io.BytesIO()
        feather.write_feather(table, buf, compression="uncompressed")
        return buf.getvalue()
    rows = table.to_pylist()
    if kind.startswith("jsonl"):
        body = "".join(json.dumps(r, default=lambda b: b.decode("utf-8", "replace")) + "\n" for r in rows)
    else:
        out = io.StringIO()
        writer = csv.writer(out, delimiter="\t" if kind == "tsv" else ",")
        writer.writerow(table.column_names)
        odd = draw(st.integers(0, len(rows) - 1)) if unbalanced and rows else -1
        for i, r in enumerate(rows):
            cells = [json.dumps(v) if isinstance(v, list) else v for v in r.values()]
            if i == odd:
                cells = cells[:-1] if len(cells) > 1 and draw(st.booleans()) else [*cells, "one too many"]
            writer.writerow(cells)
        body = out.getvalue()
    data = body.encode("utf-8", "surrogatepass")
    return gzip.compress(data, mtime=0) if kind.endswith(".gz") else data


@FUZZ
@given(
    texts=st.lists(st.tuples(text, text, text), max_size=10),
    kinds=st.tuples(*[st.sampled_from(CELL_KINDS)] * 3),
    file_kind=st.sampled_from(TABLE_FILES),
    named=st.booleans(),
    cap=caps,
    data=st.data(),
)
def test_table_loader_accounts_for_every_row_or_names_the_file(texts, kinds, file_kind, named, cap, data):
    """Named or default columns (the first two), a negative column, in every table file
    kind; cells of every type, lists with nulls, JSON lists in text files, damaged files."""
    from hardneg.data.columns import TableColumns

    cols = {}
    columns = list(zip(*texts, strict=True)) if texts else [(), (), ()]
    for name, kind, values in zip(("question", "answer", "negative"), kinds, columns, strict=True):
        if kind != "missing":
            cols[name] = table_column(kind, list(values), data.draw)
    table = pa.table(cols) if cols else pa.table({"id": pa.array(range(len(texts)))})
    unbalanced = file_kind in ("csv", "csv.gz", "tsv") and len(texts) > 0 and data.draw(st.booleans())
    whole = write_table_file(table, file_kind, data.draw, unbalanced)
    blob, intact = data.draw(damaged(whole))
    wanted = TableColumns(query="question", positive="answer", negatives=("negative",)) if named else TableColumns()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / f"table.{file_kind}"
        raw.write_bytes(blob)
        stats = run_prepare("table", raw, tmp / "out", cap, columns=wanted)
        if stats is not None and intact and file_kind in ("parquet", "arrow"):
            assert stats["accounting"][str(raw)]["read"] == len(texts)
        if stats is not None and unbalanced and intact:  # a record of another width: counted
            assert stats["bad_rows_skipped"].get("unbalanced_row", 0) >= 1, stats


def _cut_inside_quotes(blob: bytes, kind: str) -> bool:
    """Whether the file ends inside a quoted field, as Python's strict ``csv`` reads it."""
    reader = csv.reader(io.StringIO(blob.decode("utf-8", "replace"), newline=""), strict=True,
                        delimiter="\t" if kind == "tsv" else ",")  # fmt: skip
    try:
        list(reader)
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


@FUZZ
@given(
    rows=st.lists(st.tuples(text, text), min_size=1, max_size=8),
    kind=st.sampled_from(["csv", "tsv"]),
    cut=st.one_of(st.none(), st.floats(0, 1)),
    unbalanced=st.booleans(),
    cap=caps,
    data=st.data(),
)
def test_a_cut_off_or_unbalanced_csv_fails_or_counts_and_never_reads_short(rows, kind, cut, unbalanced, cap, data):
    """A CSV or TSV cut inside a quoted field fails; a record wider or narrower than the
    header fails or is counted; neither comes through as a short cell."""
    from hardneg.data.columns import TableColumns

    table = pa.table({"question": [r[0] for r in rows], "answer": [r[1] for r in rows]})
    whole = write_table_file(table, kind, data.draw, unbalanced)
    blob = whole if cut is None else whole[: int(len(whole) * cut)]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / f"table.{kind}"
        raw.write_bytes(blob)
        stats = run_prepare("table", raw, Path(tmp) / "out", cap, columns=TableColumns())
    if _cut_inside_quotes(blob, kind):
        event("cut inside a quoted field")
        assert stats is None, "a cut-off quoted field was read as a short cell"
    if unbalanced and blob == whole and stats is not None:
        event("unbalanced, counted")
        assert stats["bad_rows_skipped"].get("unbalanced_row", 0) >= 1, stats
