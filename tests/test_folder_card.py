"""The output folder's README.md (hardneg.report.folder_card): `datasets` loads each config, and a
dataset whose file kind differs from the first's is listed apart with the call that loads it."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from hardneg.report import folder_card
from hardneg.stages.folder_card import FolderCardJob


def write_card(folder, name: str, path: str, rows: int, fmt: str) -> None:
    meta = {
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": path}]}],
        "dataset_info": {"splits": [{"name": "train", "num_examples": rows}]},
        "hardneg": {"source": {"kind": "local file", "path": f"{name}.jsonl.gz"}, "mining": {"output_format": fmt}},
    }
    (folder / f"{name}.README.md").write_text("---\n" + yaml.safe_dump(meta) + "---\n\n# card\n")


def test_configs_load_and_another_file_kind_is_listed_apart(tmp_path, monkeypatch):
    from datasets import load_dataset

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    out.mkdir()
    rec = {
        "query_id": "q1",
        "query": "Who wrote Hamlet?",
        "positive_passages": [{"docid": "1", "title": "", "text": "Shakespeare wrote Hamlet."}],
        "negative_passages": [{"docid": "2", "title": "", "text": "Marlowe wrote Faustus."}],
    }
    (out / "plays.jsonl").write_text(json.dumps(rec) + "\n")
    write_card(out, "plays", "plays.jsonl", 1, "tevatron")
    pq.write_table(
        pa.table(
            {
                "anchor": ["Who painted the Mona Lisa?"],
                "positive": ["Leonardo painted it."],
                "negative_1": ["Raphael painted frescoes."],
            }
        ),
        out / "art.parquet",
    )
    write_card(out, "art", "art.parquet", 1, "n-tuple")

    cards = [out / "plays.README.md", out / "art.README.md"]
    meta = folder_card.run(SimpleNamespace(cards=cards), [out / "README.md"], FolderCardJob(datasets=("plays", "art")))
    assert [c["config_name"] for c in meta["configs"]] == ["plays"]
    assert load_dataset(str(out), "plays", split="train")[0] == rec

    text = (out / "README.md").read_text()
    call = re.search(r'load_dataset\("(\w+)", data_files="([^"]+)"\)', text.split("## Files of another kind")[1])
    assert call and call.groups() == ("parquet", "art.parquet")
    art = load_dataset(call[1], data_files=str(out / call[2]), split="train")
    assert art[0]["negative_1"] == "Raphael painted frescoes."
