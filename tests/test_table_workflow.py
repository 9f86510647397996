"""The table format through the real workflow, offline: a folder of 3 parquet shards with
(question, answer, negative), a CSV whose positive column holds JSON lists, a JSON-lines
file with titles, and a hub repo's split served by a local stand-in for the hub
(tests/hub_server.py) on 127.0.0.1, pinned to a tag. One run mines all four; the other
tests reuse its folder and its download cache."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hub_server import HubServer

from conftest import REPO, demo_config, run_snakemake, write_config
from hardneg.formats.readers import read_n_tuple, read_tevatron

pytestmark = pytest.mark.workflow
OUT = "retrieval/original"


def demo_pairs(name: str) -> list[tuple[str, str]]:
    with gzip.open(REPO / ".test" / "data" / f"{name}.jsonl.gz", "rt") as fh:
        return [tuple(json.loads(line)[:2]) for line in fh]


def parquet_bytes(columns: dict) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def write_inputs(data):
    """The three local sources; returns what the tests check against."""
    gooaq = demo_pairs("gooaq_pairs")
    rows = [{"question": q, "answer": a, "negative": gooaq[(i + 7) % len(gooaq)][1]} for i, (q, a) in enumerate(gooaq)]
    rows[10]["question"] = None  # bad cells: a null and an empty one
    rows[20]["answer"] = ""
    shards = data / "qa_shards"
    shards.mkdir()
    for k in range(3):
        part = rows[k::3]
        pq.write_table(pa.Table.from_pylist(part), shards / f"part-{k}.parquet")

    squad = demo_pairs("squad_pairs")
    with open(data / "qa.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["query", "positives"])
        for i, (q, a) in enumerate(squad):
            positives = [a, squad[i - 1][1]] if i % 5 == 0 else [a]
            w.writerow([q, json.dumps(positives)])
        w.writerow(["a row whose positives are not strings", "[1, 2]"])

    eli5 = demo_pairs("eli5_question_answer")
    with open(data / "qa.jsonl", "w") as fh:
        for i, (q, a) in enumerate(eli5):
            fh.write(json.dumps({"q": q, "a": a, "title": f"ELI5 answer {i}"}) + "\n")
        fh.write(json.dumps({"q": "a row whose answer is a number", "a": 5, "title": "x"}) + "\n")
    return {"shards": rows, "csv": squad, "jsonl": eli5}


def hub_repo(hub: HubServer) -> tuple[str, list]:
    """A repo laid out as `datasets` lays it out: sharded train and test files. Tag v1 is
    the commit the config pins; main then moves on to other rows."""
    yahoo = demo_pairs("yahoo_answers_title_answer")
    train, test = yahoo[:60], yahoo[60:]

    def files(pairs):
        half = len(pairs) // 2
        return {
            "README.md": b"---\nlicense: cc-by-4.0\n---\n# FAQ pairs\n",
            "data/train-00000-of-00002.parquet": parquet_bytes(
                {"anchor": [q for q, _ in pairs[:half]], "positive": [a for _, a in pairs[:half]]}
            ),
            "data/train-00001-of-00002.parquet": parquet_bytes(
                {"anchor": [q for q, _ in pairs[half:]], "positive": [a for _, a in pairs[half:]]}
            ),
            "data/test-00000-of-00001.parquet": parquet_bytes(
                {"anchor": [q for q, _ in test], "positive": [a for _, a in test]}
            ),
        }

    sha = hub.add_commit("faq/pairs", files(train), refs=("main", "v1"))
    hub.add_commit("faq/pairs", files(train[:10]), refs=("main",))
    return sha, train


def table_config(data) -> dict:
    cfg = demo_config(datasets=[])
    cfg["prepare"] = {"max_bad_rows": 5}
    cfg["datasets"] = {
        "qa_shards": {
            "format": "table",
            "source": str(data / "qa_shards"),
            "query_column": "question",
            "positive_column": "answer",
            "negative_columns": ["negative"],
        },
        "qa_csv": {
            "format": "table",
            "source": str(data / "qa.csv"),
            "mining": {"output_format": "n-tuple", "num_negatives": 3, "min_negatives": 3},
        },
        "qa_jsonl": {
            "format": "table",
            "source": str(data / "*.jsonl"),
            "query_column": "q",
            "positive_column": "a",
            "title_column": "title",
        },
        "qa_hub": {"format": "table", "source": "hf://datasets/faq/pairs@v1", "split": "train"},
    }
    return cfg


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("tables")
    data = wd / "data"
    data.mkdir()
    expected = write_inputs(data)
    cache = wd / "hub-cache"
    with HubServer() as hub:
        sha, expected["hub"] = hub_repo(hub)
        conf = write_config(wd / "tables.yaml", table_config(data))
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "0"}
        run_snakemake(wd, conf, "--cores", "2", env=env)
        requests = list(hub.requests)
    return {"wd": wd, "conf": conf, "data": data, "cache": cache, "sha": sha, "requests": requests, **expected}


def stats(wd, dataset):
    return json.loads((wd / "results" / "prepared" / dataset / "prepare_stats.json").read_text())


def test_parquet_shards_keep_their_negatives_first_and_once(table_run):
    wd, rows = table_run["wd"], table_run["shards"]
    given = Counter((r["question"], r["negative"]) for r in rows if r["question"] and r["answer"])
    mined = list(read_tevatron(wd / OUT / "qa_shards.jsonl"))
    assert Counter((m.query, m.negatives[0]) for m in mined) == given  # the data's negative leads
    for m in mined:
        assert m.negatives.count(m.negatives[0]) == 1  # and is never mined again
        assert len(m.negatives) <= 16 and not set(m.negatives) & set(m.positives)
    s = stats(wd, "qa_shards")
    assert sum(s["bad_rows_skipped"].values()) == 2
    assert {f.rsplit("/", 1)[-1]: a["read"] for f, a in s["accounting"].items()} == {
        f"part-{k}.parquet": len(rows[k::3]) for k in range(3)
    }
    assert s["given_negatives"] == sum(given.values())


def test_csv_list_positives_mine_to_sentence_transformers_columns(table_run):
    wd, squad = table_run["wd"], table_run["csv"]
    (path,) = (wd / OUT).glob("qa_csv.n-tuple-*.parquet")  # its own format and settings
    table = pq.read_table(path)
    assert table.column_names == ["anchor", "positive", "negative_1", "negative_2", "negative_3"]
    mined = list(read_n_tuple(path))
    positives = {q: {a, squad[i - 1][1]} if i % 5 == 0 else {a} for i, (q, a) in enumerate(squad)}
    assert mined and {m.query for m in mined} <= set(positives)
    for m in mined:
        assert set(m.positives) <= positives[m.query]
        assert not set(m.negatives) & positives[m.query]
    # a query with two positives is one n-tuple row per positive
    two = [q for i, (q, _) in enumerate(squad) if i % 5 == 0]
    assert any(sum(m.query == q for m in mined) == 2 for q in two)
    assert sum(stats(wd, "qa_csv")["bad_rows_skipped"].values()) == 1


def test_json_lines_with_titles(table_run):
    wd, eli5 = table_run["wd"], table_run["jsonl"]
    rows = [json.loads(line) for line in (wd / OUT / "qa_jsonl.jsonl").read_text().splitlines()]
    titles = {f"ELI5 answer {i}": a for i, (_, a) in enumerate(eli5)}
    assert {r["query"] for r in rows} == {q for q, _ in eli5}
    for r in rows:
        for p in r["positive_passages"] + r["negative_passages"]:
            assert titles[p["title"]] == p["text"]
    assert sum(stats(wd, "qa_jsonl")["bad_rows_skipped"].values()) == 1


def test_hub_split_is_read_at_the_pinned_revision(table_run):
    wd, sha = table_run["wd"], table_run["sha"]
    mined = list(read_tevatron(wd / OUT / "qa_hub.jsonl"))
    assert {m.query for m in mined} == {q for q, _ in table_run["hub"]}  # v1's 60, not main's 10
    split = wd / "resources" / "raw" / "hf-split" / "qa_hub" / "train" / "data"
    assert sorted(p.name for p in split.iterdir()) == ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    got = [r for r in table_run["requests"] if "/resolve/" in r and r.endswith(".parquet")]
    assert got and all(f"/resolve/{sha}/data/train-" in r for r in got)  # the test split is never fetched


def test_hub_split_offline_from_the_warm_cache(table_run, tmp_path):
    """A new folder, the hub gone and HF_HUB_OFFLINE set: the download job reads the cache."""
    conf = write_config(tmp_path / "c.yaml", yaml.safe_load(table_run["conf"].read_text()))
    target = "resources/raw/hf-split/qa_hub/train"
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": str(table_run["cache"]), "HF_HUB_OFFLINE": "1"}
    run_snakemake(tmp_path, conf, "--cores", "1", target, env=env)
    for part in ("train-00000-of-00002.parquet", "train-00001-of-00002.parquet"):
        fresh = tmp_path / target / "data" / part
        assert fresh.read_bytes() == (table_run["wd"] / target / "data" / part).read_bytes()


def test_hub_split_that_does_not_exist_lists_the_splits(table_run, tmp_path):
    cfg = yaml.safe_load(table_run["conf"].read_text())
    cfg["datasets"] = {"qa_hub": {**cfg["datasets"]["qa_hub"], "split": "validation"}}
    conf = write_config(tmp_path / "c.yaml", cfg)
    with HubServer() as hub:
        hub_repo(hub)
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "0"}
        proc = run_snakemake(
            tmp_path, conf, "--cores", "1", "resources/raw/hf-split/qa_hub/validation", env=env, check=False
        )
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "download" / "hf-split" / "qa_hub" / "validation.log").read_text()
    assert "faq/pairs: no split 'validation'; the splits are test, train" in log


def test_missing_column_fails_at_planning_naming_it_and_the_files_columns(table_run, tmp_path):
    cfg = yaml.safe_load(table_run["conf"].read_text())
    cfg["datasets"] = {"qa_jsonl": {**cfg["datasets"]["qa_jsonl"], "query_column": "question"}}
    conf = write_config(tmp_path / "c.yaml", cfg)
    shutil.copy(table_run["data"] / "qa.jsonl", tmp_path / "qa.jsonl")
    target = "results/prepared/qa_jsonl/prepare_stats.json"
    proc = run_snakemake(tmp_path, conf, "--cores", "1", target, check=False)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "invalid config: datasets.qa_jsonl:" in text and "question" in text and "q, a, title" in text
    assert not (tmp_path / "logs").exists() and not (tmp_path / target).exists()  # no job ran
    assert os.environ.get("HF_HUB_OFFLINE") != "0"  # nothing here changed the test process
