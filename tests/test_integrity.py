"""Cached files are verified when read (hardneg.integrity): a truncated file, a flipped
byte and a file from another dataset each fail the reading job, naming the file and the
rule that rebuilds it, and the file is deleted so that the next run rebuilds it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from conftest import DEMO_FOLDER, run_snakemake, write_config
from hardneg.integrity import CacheError, fingerprints, verify
from hardneg.io import write_json

DATASET = "squad_pairs"


def _cache(tmp_path, dataset="d"):
    """Two vector files and the stats that record them, as embed writes them."""
    q, p = tmp_path / "queries.0.npy", tmp_path / "passages.0.npy"
    np.save(q, np.arange(24, dtype=np.float32).reshape(6, 4))
    np.save(p, np.ones((5, 4), dtype=np.float32))
    stats = tmp_path / "stats.0.json"
    write_json(stats, {"cache": fingerprints("embed", dataset, {q: 6, p: 5})})
    return q, p, stats


def test_intact_files_pass(tmp_path):
    q, p, stats = _cache(tmp_path)
    verify([q, p], [stats], dataset="d")
    assert q.exists() and p.exists()


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda f: f.write_bytes(f.read_bytes()[:-7]), "bytes where"),
        (
            lambda f: f.write_bytes(f.read_bytes()[:-5] + bytes([f.read_bytes()[-5] ^ 1]) + f.read_bytes()[-4:]),
            "CRC-32",
        ),
        (lambda f: np.save(f, np.zeros((6, 4), dtype=np.float32)), "CRC-32"),
    ],
    ids=["truncated", "flipped-byte", "another-file"],
)
def test_a_damaged_file_fails_naming_it_and_the_rule_and_is_deleted(tmp_path, damage, says):
    q, p, stats = _cache(tmp_path)
    damage(q)
    with pytest.raises(
        CacheError, match=rf"^{q}: .*{says}.*deleted it, so that the next run rebuilds it with rule embed$"
    ):
        verify([q, p], [stats], dataset="d")
    assert not q.exists() and p.exists()


def test_stats_of_another_dataset_fail(tmp_path):
    q, p, stats = _cache(tmp_path, dataset="other")
    with pytest.raises(CacheError, match="the stats of dataset 'other' stand where 'd'"):
        verify([q, p], [stats], dataset="d")


def test_stats_written_before_fingerprints_are_read_with_a_warning(tmp_path):
    q, p, _ = _cache(tmp_path)
    old = tmp_path / "old.json"
    write_json(old, {"queries": {"rows": 6}})
    import logging

    # a logger and handler of its own, at its own level, with logging.disable() lifted:
    # what other tests (and the libraries they load) in this process did to logging does not matter
    logger, seen = logging.getLogger("test_integrity.old_stats"), []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    try:
        verify([q, p], [old], dataset="d", logger=logger)
    finally:
        logger.removeHandler(handler)
        logging.disable(disabled)
    assert any("not verified" in m for m in seen), (seen, disabled, logging.getLogger().level)


# ------------------------------------------------------------------ through the workflow


@pytest.fixture(scope="module")
def built(demo_run, tmp_path_factory):
    """A copy of the shared demo run, planned for one dataset (nothing to re-run)."""
    src, conf = demo_run
    wd = tmp_path_factory.mktemp("integrity")
    for name in ("results", "retrieval", ".snakemake"):
        # not the locks of a Snakemake that another test runs in the demo folder now
        shutil.copytree(src / name, wd / name, symlinks=True, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("locks"))  # fmt: skip
    cfg = yaml.safe_load(conf.read_text())
    cfg["datasets"] = {DATASET: cfg["datasets"][DATASET], "agnews": cfg["datasets"]["agnews"]}
    config = write_config(wd / "one.yaml", cfg)
    mined = wd / "retrieval" / "original" / f"{DATASET}.jsonl"
    return wd, config, mined.read_bytes()


def _one(pattern: str, wd, dataset=DATASET):
    found = sorted(wd.glob(pattern.format(dataset=dataset)))
    assert len(found) == 1, (pattern, found)
    return found[0]


@pytest.mark.workflow
@DEMO_FOLDER  # `built` copies the demo folder: not while another test writes there
@pytest.mark.parametrize(
    "case",
    ["truncated-vectors", "flipped-candidates", "positives-of-another-dataset"],
)
def test_a_damaged_cache_fails_the_reader_then_the_next_run_rebuilds_it(built, case):
    wd, config, mined = built
    target = f"retrieval/original/{DATASET}.jsonl"
    if case == "truncated-vectors":
        f = _one("results/embeddings/*/{dataset}/1shards/queries.0.npy", wd)
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
        rule = "embed"
    elif case == "flipped-candidates":
        f = _one("results/search/*/*/{dataset}/candidates.parquet", wd)
        data = bytearray(f.read_bytes())
        data[len(data) // 3] ^= 0x40
        f.write_bytes(bytes(data))
        rule = "merge"
    else:
        f = _one("results/search/*/*/{dataset}/positive_scores.parquet", wd)
        shutil.copyfile(_one("results/search/*/*/{dataset}/positive_scores.parquet", wd, "agnews"), f)
        rule = "merge"
    proc = run_snakemake(wd, config, "--cores", "2", target, check=False)
    logs = "\n".join(p.read_text() for p in (wd / "logs").rglob("*.log"))
    assert proc.returncode != 0
    assert f"{f.relative_to(wd)}: " in logs and f"rebuilds it with rule {rule}" in logs
    assert not f.exists()
    run_snakemake(wd, config, "--cores", "2", target)
    assert (wd / target).read_bytes() == mined
