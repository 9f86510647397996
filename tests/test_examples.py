"""The examples page: texts are escaped (a ``<script>`` is shown, never run), long texts
fold, and the sample is fixed whatever the file's size."""

from __future__ import annotations

import re
import subprocess

import pytest
from render_report import CHROMIUM_FLAGS, chromium

from hardneg.examples import FOLD, page, picked

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
    path.write_text(page("d", {"output_rows": 1}, [row], [suspect], judge=False), encoding="utf-8")
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


def test_the_sample_is_fixed_and_spread_over_the_file():
    a = picked(100_000, 42, 20)
    assert a.tolist() == picked(100_000, 42, 20).tolist() and len(set(a.tolist())) == 20
    assert a.max() > 50_000  # not the file's first rows
    assert picked(10, 42, 20).tolist() == list(range(10))
    assert picked(100_000, 43, 20).tolist() != a.tolist()
