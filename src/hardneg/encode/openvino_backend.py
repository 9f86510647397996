"""``model.backend: openvino``: the whole sentence-transformers pipeline (transformer,
pooling, dense layers, normalisation) exported once to an OpenVINO graph, then run on the
CPU in fp32.

Export (:func:`export`) traces the model's forward with ``openvino.convert_model`` in its
own job, checks the graph against torch on a few texts (cosine >= :data:`MIN_COSINE`) and
renames the finished folder into place, so a killed export leaves nothing that looks done.
A model that does not convert fails there, in one line naming the model and the op.

Encoding (:class:`OpenVINOEncoder`) keeps everything but the forward pass as
sentence-transformers does it: the model's own ``preprocess`` (tokenizer, prompt,
truncation to ``max_seq_length``) and its order of batches (texts sorted by length, longest
first). The vectors of a text therefore match torch's to about 1e-7 and do not depend on the
thread count.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np

from ..io import InputError, atomic_dir, write_json

GRAPH = "model.xml"
META = "export.json"
MIN_COSINE = 0.9999
# traced and checked against torch at export: short and long, with and without prompts
CHECK_TEXTS = (
    "What does this function return?",
    "Return a new array of given shape and type, filled with zeros. The array is laid out in row-major order "
    "unless told otherwise, and its memory is not initialised beyond the zeros themselves.",
    "Aspirin",
    "Which river flows through the capital, and how long is it from its source in the mountains to the sea?",
)
OP = re.compile(r"\b(?:aten|prim|torch|onnx)::[A-Za-z_][\w.]*")
# OpenVINO's summary of a failed conversion: "No conversion rule found for operations: aten::x, ..."
NO_RULE = re.compile(r"No conversion rule found for operations?:\s*([^\n]+)")


class ExportError(InputError):
    """A model that cannot run on the backend; the message names the model and says what to do."""


def _fail(name: str, what: str) -> ExportError:
    return ExportError(f"model.backend openvino: {name} cannot be exported ({what}); use model.backend: torch")


def _unsupported_op(exc: BaseException) -> str:
    """The ops a conversion failed on (``aten::name``), or the error's first line."""
    seen, e = [], exc
    while e is not None and e not in seen:
        seen.append(e)
        rule, op = NO_RULE.search(str(e)), OP.search(str(e))
        if rule or op:
            return f"unsupported op {rule.group(1).strip() if rule else op.group(0)}"
        e = e.__cause__ or e.__context__
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}"


def _check_modules(st, name: str, prompts: tuple[str, ...]) -> None:
    """Refuse, before tracing, what the graph cannot reproduce."""
    first = type(st[0]).__name__
    if first != "Transformer":
        raise _fail(name, f"its first module is {first}, not a transformer")
    for module in st:
        if type(module).__name__ == "Pooling" and not getattr(module, "include_prompt", True) and any(prompts):
            raise _fail(name, "its pooling leaves the prompt's tokens out (include_prompt: false)")


def _forward_module(st, names: list[str]):
    """The sentence-transformers forward over positional tensors (``names`` in order), normalised."""
    import torch

    class Forward(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.st = st

        def forward(self, *tensors):
            out = self.st(dict(zip(names, tensors, strict=True)))["sentence_embedding"]
            return torch.nn.functional.normalize(out, p=2, dim=1)

    return Forward().eval()


def _tensor_features(st, texts, prompt=None) -> dict:
    import torch

    feats = st.preprocess(list(texts), prompt=prompt or None)
    return {k: v for k, v in feats.items() if isinstance(v, torch.Tensor)}


def export(st, out_dir: str | Path, *, name: str, prompts: tuple[str, ...] = (), threads: int = 1, logger=None) -> dict:
    """Export the loaded SentenceTransformer ``st`` (fp32, CPU) into the folder ``out_dir``,
    atomically; returns what ``export.json`` records."""
    import openvino as ov
    import torch

    out_dir = Path(out_dir)
    _check_modules(st, name, prompts)
    with atomic_dir(out_dir) as tmp:
        example = _tensor_features(st, CHECK_TEXTS[:2])
        names = list(example)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                # tracing warns of every Python branch on a shape; the check below is what counts
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                graph = ov.convert_model(_forward_module(st, names), example_input=tuple(example.values()))
        except Exception as exc:  # the converter raises many kinds; all mean the same here
            raise _fail(name, _unsupported_op(exc)) from exc
        for port, input_name in zip(graph.inputs, names, strict=True):
            port.get_tensor().set_names({input_name})
        ov.save_model(graph, str(tmp / GRAPH), compress_to_fp16=False)
        encoder = OpenVINOEncoder(st, tmp, threads=threads, meta={"inputs": names})
        worst = 1.0
        for prompt in dict.fromkeys(("", *prompts)):
            want = st.encode(list(CHECK_TEXTS), prompt=prompt or None, normalize_embeddings=True, convert_to_numpy=True)
            got = encoder.encode(list(CHECK_TEXTS), batch_size=len(CHECK_TEXTS), prompt=prompt)
            worst = min(worst, float((want * got).sum(axis=1).min()))
        if not worst >= MIN_COSINE:
            raise _fail(name, f"the graph's vectors differ from torch's: cosine {worst:.6f} < {MIN_COSINE}")
        meta = {
            "model": name,
            "inputs": names,
            "dim": int(got.shape[1]),
            "openvino": ov.get_version(),
            "min_cosine_to_torch": round(worst, 8),
        }
        write_json(tmp / META, meta)
    if logger:
        logger.info("%s: exported to %s (inputs %s, min cosine to torch %.7f)", name, out_dir, names, worst)
    return meta


class OpenVINOEncoder:
    """``encode`` as :meth:`SentenceTransformer.encode` with normalised numpy output, the
    forward pass run by the exported graph in ``folder``. ``st`` supplies preprocessing
    only; its weights are not used."""

    vector_kind = "fp32-openvino"
    device = "cpu"

    def __init__(self, st, folder: str | Path, *, threads: int = 1, meta: dict | None = None):
        import openvino as ov

        folder = Path(folder)
        self.st = st
        self.meta = meta or json.loads((folder / META).read_text())
        config = {"INFERENCE_NUM_THREADS": max(1, int(threads)), "INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": 1}
        self._request = ov.Core().compile_model(str(folder / GRAPH), "CPU", config).create_infer_request()

    @property
    def max_seq_length(self):
        return self.st.max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value):
        self.st.max_seq_length = value

    @property
    def tokenizer(self):
        return self.st.tokenizer

    def get_embedding_dimension(self) -> int:
        return int(self.meta["dim"])

    def encode(self, texts, *, batch_size: int, prompt: str | None = None, **_) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors; batches as sentence-transformers forms them."""
        texts = list(texts)
        order = np.argsort([-len(t) for t in texts])  # as SentenceTransformer.encode sorts
        out = None
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            feats = _tensor_features(self.st, [texts[i] for i in rows], prompt)
            result = self._request.infer({n: feats[n].numpy() for n in self.meta["inputs"]})
            vectors = np.asarray(result[0], dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.empty((0, self.get_embedding_dimension()), dtype=np.float32)
