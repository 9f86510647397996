"""Bad input through the real workflow: the job fails with a message naming the file
(and line), the log says it without a traceback, and no finished output is left behind.
Loader-level cases (each shape, caps, non-UTF-8, BeIR ids) are in test_loaders.py."""

from __future__ import annotations

import gzip
import json
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import demo_config, run_snakemake, write_config

pytestmark = pytest.mark.workflow


def _run_one(tmp_path, fmt, source, **extra):
    cfg = demo_config(datasets=["squad_pairs"])
    cfg["datasets"] = {"broken": {"format": fmt, "source": str(source), **extra}}
    proc = run_snakemake(tmp_path, write_config(tmp_path / "c.yaml", cfg), "--cores", "1", check=False)
    log = tmp_path / "logs" / "prepare" / "broken.log"
    return proc, (log.read_text() if log.exists() else "")


def _gz(path, lines):
    with gzip.open(path, "wt") as fh:
        fh.writelines(line + "\n" for line in lines)
    return path


@pytest.mark.parametrize(
    "lines, message",
    [
        (['["q", "p"]', '{"query": "q"', '["q2", "p2"]'], ":2: malformed JSON"),
        (['["q", "p"]', '["q", "p", "x"]'], ":2: a list line must hold exactly 2 strings"),
        (['["q", "p"]', '["q \\udc00", "p"]'], ":2: text is not encodable as UTF-8"),
        (['["q", "p"]', '{"set": "q"}'], ":2: 'set' must be a list of strings"),
    ],
)
def test_bad_line_fails_the_run_naming_file_and_line(tmp_path, lines, message):
    src = _gz(tmp_path / "bad.jsonl.gz", lines)
    proc, log = _run_one(tmp_path, "pairs", src)
    assert proc.returncode != 0
    assert f"{src}{message}" in log
    assert "Traceback" not in log
    assert not (tmp_path / "results" / "prepared" / "broken").exists() or not list(
        (tmp_path / "results" / "prepared" / "broken").glob("*.parquet")
    )


def test_bad_rows_within_cap_are_skipped_and_counted(tmp_path):
    src = _gz(
        tmp_path / "some_bad.jsonl.gz", [json.dumps([f"q{i}", f"passage {i}"]) for i in range(30)] + ["{x", '["", "p"]']
    )
    proc, log = _run_one(tmp_path, "pairs", src, max_bad_rows=1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads((tmp_path / "results/prepared/broken/prepare_stats.json").read_text())
    assert stats["bad_rows_skipped"] == {"malformed_json": 1}
    assert stats["dropped"]["empty_query"] == 1  # degenerate, not bad
    assert sum(1 for _ in (tmp_path / "retrieval/original/broken.jsonl").open()) == 30


def test_unexpected_error_goes_to_the_rule_log_with_its_traceback(tmp_path):
    """A failure that is not bad input (here: a model package whose ``get_model_path()``
    breaks) leaves its traceback in logs/embed/..., the file Snakemake points the user to."""
    src = _gz(tmp_path / "ok.jsonl.gz", [json.dumps([f"q{i}", f"passage {i}"]) for i in range(5)])
    pkg = tmp_path / "site" / "broken_model_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def get_model_path():\n    raise RuntimeError('broken-model-pkg is broken')\n")
    cfg = demo_config(datasets=["squad_pairs"])
    cfg["datasets"] = {"ok": {"format": "pairs", "source": str(src)}}
    cfg["model"]["name_or_path"] = "pkg:broken_model_pkg"
    env = {"PYTHONPATH": str(tmp_path / "site")}
    proc = run_snakemake(tmp_path, write_config(tmp_path / "c.yaml", cfg), "--cores", "1", check=False, env=env)
    assert proc.returncode != 0
    logs = list((tmp_path / "logs" / "embed").rglob("*.log"))
    assert logs, proc.stderr[-3000:]
    text = logs[0].read_text()
    assert "embed failed with an unexpected error" in text and "Traceback (most recent call last)" in text
    assert "broken-model-pkg is broken" in text


def test_truncated_gzip(tmp_path):
    full = _gz(tmp_path / "full.jsonl.gz", [json.dumps([f"question {i}", "text " * 50]) for i in range(3000)])
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(full.read_bytes()[:5000])
    proc, log = _run_one(tmp_path, "pairs", cut)
    assert proc.returncode != 0 and f"{cut}: truncated or corrupt gzip after line" in log


def test_zip_missing_corpus(tmp_path):
    z = tmp_path / "hotpotqa.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("hotpotqa/queries.jsonl", '{"_id": "q", "text": "t"}\n')
        zf.writestr("hotpotqa/qrels/train.tsv", "query-id\tcorpus-id\tscore\nq\td\t1\n")
    proc, log = _run_one(tmp_path, "beir", z)
    assert proc.returncode != 0 and f"{z}: zip has no corpus.jsonl" in log


def test_parquet_missing_exp(tmp_path):
    p = tmp_path / "medmcqa.parquet"
    pq.write_table(pa.table({"id": ["a"], "question": ["Q?"], "opa": ["x"]}), p)
    proc, log = _run_one(tmp_path, "medmcqa", p)
    assert proc.returncode != 0 and f"{p}: parquet is missing column(s) exp" in log


def test_no_positives_after_filtering_is_an_error(tmp_path):
    src = _gz(tmp_path / "empty.jsonl.gz", ['{"set": ["only one"]}', '{"set": ["again"]}'])
    proc, log = _run_one(tmp_path, "pairs", src)
    assert proc.returncode != 0 and "yields no query with a positive after filtering" in log
    assert not (tmp_path / "retrieval" / "original" / "broken.jsonl").exists()


def test_missing_local_source_is_named(tmp_path):
    proc, _ = _run_one(tmp_path, "pairs", tmp_path / "nope.jsonl.gz")
    assert proc.returncode != 0 and "nope.jsonl.gz" in proc.stdout + proc.stderr
