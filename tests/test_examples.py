"""The examples page: texts are escaped (a ``<script>`` is shown, never run), long texts
fold, and the sample is fixed whatever the file's size."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from render_report import CHROMIUM_FLAGS, chromium

from hardneg.mining.mined_sample import Sample
from hardneg.mining.select import sample_keys
from hardneg.report.examples import FOLD, page

EVIL = "<script>document.title='pwned'</script> & <b>bold</b>"


def _page(tmp_path):
    neg = {"text": EVIL, "rank": 3, "score": 0.5, "similarity": 0.9, "judge": None, "judge_gap": None}
    row = {
        "row": 0,
        "query": EVIL,
        "pos_info": [{"text": "x" * (FOLD + 50), "score": 0.7, "judge": None}],
        "neg_info": [neg],
    }
    suspect = {**neg, "row": 0, "query": EVIL, "positive": "p"}
    path = tmp_path / "examples.html"
    stats = {"output_rows": 1, "queries_written": 1}
    path.write_text(page("d", stats, [row], [suspect], judge=False), encoding="utf-8")
    return path


def test_texts_are_escaped_and_long_ones_fold(tmp_path):
    text = _page(tmp_path).read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "<b>" not in text
    assert text.count("&lt;script&gt;") == 4 and "<details><summary>" in text


def test_a_script_in_the_data_is_shown_as_text_in_chromium(tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    path = _page(tmp_path)
    proc = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path}/profile", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = proc.stdout
    assert re.search(r"<title>Examples: d</title>", dom), dom[:500]  # the script did not set it
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom


def _run(first: int, n: int) -> Sample:
    """A run of ``n`` written queries, each query q from ``first`` on with q % 3 positives and q % 5 negatives."""
    q = np.arange(first, first + n)
    pos_n, neg_n = q % 3, q % 5
    return Sample(
        np.zeros(0, np.int64),
        q,
        pos_n,
        np.repeat(q, pos_n) * 10,
        np.repeat(q, pos_n) / 1e6,
        neg_n,
        np.repeat(q, neg_n) * 10 + 1,
        np.repeat(q, neg_n) % 100,
        np.repeat(q, neg_n) / 1e7,
        np.zeros(n, bool),
    )


def test_the_sample_is_fixed_spread_and_kept_run_by_run():
    """Kept run by run, the sample is the queries of lowest seeded key over the whole file,
    whatever the runs are, spread over the file, and each keeps its own numbers."""
    from hardneg.mining.mined_sample import SCAN, SHOW, SampleKeeper

    def keep(cuts):
        k = SampleKeeper(42)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            k.add(_run(a, b - a))
        return k.kept

    one, many = keep([0, 50_000]), keep([0, 7, 4096, 4097, 30_000, 50_000])
    for f in ("record", "query_row", "pos_row", "neg_row", "neg_rank", "shown"):
        assert np.array_equal(getattr(one, f), getattr(many, f)), f
    keys = sample_keys(np.full(50_000, 42, dtype=np.uint64), np.arange(50_000))
    assert set(one.record.tolist()) == set(np.argsort(keys)[:SCAN].tolist()) | set(
        np.argsort(sample_keys(np.full(50_000, 43, dtype=np.uint64), np.arange(50_000)))[:SHOW].tolist()
    )
    assert one.shown.sum() == SHOW and one.record.max() > 25_000
    assert np.array_equal(one.neg_row, np.repeat(one.query_row, one.neg_n) * 10 + 1)  # numbers stay with their query
    assert len(keep([0, 10]).record) == 10  # a small file: every query
