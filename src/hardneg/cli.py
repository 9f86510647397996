"""``hardneg mine``: one dataset, one command.

It writes a whole config into the output folder (``config.yaml``) and runs the packaged
Snakemake workflow there with ``--rerun-incomplete``, so the same command again resumes
after Ctrl-C or a kill, and a changed mining flag re-mines from the cached candidates.
The output folder holds the mined file and its dataset card (``mined/``), the cached
embeddings and candidates (``results/``), the logs and the full Snakemake log
(``hardneg.log``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import yaml

from .options import BLOCKS, PRESETS, MiningOptions

MINED = "mined"  # the output folder's subfolder that holds the mined files and their card
STEPS = re.compile(r"^\d+ of \d+ steps \(\d+%\) done")


def snakefile() -> Path:
    """The packaged workflow (``hardneg/workflow`` in a wheel; ``workflow/`` of a clone)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "workflow" / "Snakefile", here.parents[1] / "workflow" / "Snakefile"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"hardneg: the packaged workflow is missing (looked for {here / 'workflow' / 'Snakefile'})")


def dataset_name(source: str) -> str:
    """A dataset name from an input path or hub id: ``data/pairs.parquet`` -> ``pairs``."""
    stem = source.rstrip("/").split("@")[0].rsplit("/", 1)[-1]
    stem = re.sub(r"(\.(jsonl|json|parquet|csv|tsv|arrow|gz|zst|bz2|xz))+$", "", stem)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "dataset"


def parse_value(text: str):
    """A ``--set`` value as YAML reads it (``0.05``, ``true``, ``[a, b]``, ``null``, text)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def set_key(config: dict, dotted: str, value) -> None:
    """``config[a][b][c] = value`` for ``a.b.c``."""
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise SystemExit(f"hardneg: --set {dotted}: {key} is not a block")
    node[last] = value


@dataclass(frozen=True)
class Request:
    """What one ``hardneg mine`` call asks for."""

    source: str
    model: str
    output: Path
    name: str
    input_format: str = "table"
    output_format: str | None = None
    preset: str | None = None
    split: str | None = None
    query_column: str | None = None
    positive_column: str | None = None
    settings: tuple = ()  # (dotted key, value) pairs, applied last


def build_config(req: Request) -> dict:
    """The run's whole config: the input as one dataset, the model, the mining flags."""
    source = req.source
    if "://" not in source:
        source = str(Path(source).expanduser().resolve())
    dataset = {"format": req.input_format, "source": source}
    for key in ("split", "query_column", "positive_column"):
        if getattr(req, key) is not None:
            dataset[key] = getattr(req, key)
    config = {
        "results": "results",
        "output_dir": MINED,
        "model": {"name_or_path": req.model},
        "mining": {"preset": req.preset or "seed"},
        "datasets": {req.name: dataset},
    }
    if req.output_format:
        config["mining"]["output_format"] = req.output_format
    for dotted, value in req.settings:
        if dotted.startswith("dataset."):  # the one dataset's own keys
            dotted = f"datasets.{req.name}.{dotted.removeprefix('dataset.')}"
        set_key(config, dotted, value)
    return config


def mined_file(config: dict, name: str) -> Path:
    """The mined file the run writes, relative to the output folder."""
    from .formats import file_tag
    from .plan import Plan

    return Path(MINED) / f"{name}.{file_tag(Plan.from_config(config).mining[name])}"


# ------------------------------------------------------------------ running Snakemake


@contextlib.contextmanager
def run_lock(folder: Path):
    """Hold ``folder/.hardneg.lock`` for the run. A second ``hardneg mine`` into the same
    folder stops at once; a lock left by a killed run (Snakemake's own) is released, as
    no live run holds ours."""
    import fcntl  # POSIX: the package itself imports on any system

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".hardneg.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"hardneg: another `hardneg mine` is writing to {folder}; wait for it") from None
        yield


def snakemake_command(folder: Path, cores: int | None, profile: str | None, extra=()) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile())]
    cmd += ["--directory", str(folder), "--configfile", str(folder / "config.yaml")]
    cmd += ["--cores", str(cores or os.cpu_count() or 1), "--rerun-incomplete", "--show-failed-logs"]
    if profile:
        cmd += ["--profile", profile]
    return cmd + list(extra)


def run_workflow(folder: Path, cores: int | None = None, profile: str | None = None, *, dry_run=False, echo="steps"):
    """Run the workflow in ``folder``; its output goes to ``folder/hardneg.log``, and to
    the terminal: its progress lines (``echo="steps"``), all of it (``"all"``) or nothing
    (``"none"``). Returns the exit code: 130 after Ctrl-C, once Snakemake has stopped its
    jobs."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if any((folder / ".snakemake" / "locks").glob("*")):  # left by a killed run: no live run holds it
        subprocess.run([*snakemake_command(folder, cores, profile), "--unlock"], env=env, capture_output=True)
    cmd = snakemake_command(folder, cores, profile, ["--dry-run"] if dry_run else [])
    log_path = folder / "hardneg.log"
    interrupted = False
    with open(log_path, "w", encoding="utf-8") as log:
        # its own process group: Ctrl-C reaches it once, from us, and it stops its jobs
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
        )
        while True:
            try:
                for line in proc.stdout:
                    log.write(line)
                    if echo == "all" or (echo == "steps" and STEPS.match(line)):
                        print(line.rstrip("\n"), flush=True)
                break
            except KeyboardInterrupt:
                if not interrupted:
                    interrupted = True
                    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # one stop, not a second
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait()
    if interrupted:
        signal.signal(signal.SIGINT, previous)
        print("hardneg: interrupted; finished steps are kept: run the same command again to continue", flush=True)
        return 130
    if code and echo != "all":
        text = log_path.read_text(encoding="utf-8", errors="replace")
        start = text.find("Error in rule")
        print(text[start:] if start >= 0 else text[-4000:], end="", file=sys.stderr)
        print(f"hardneg: the run failed; the whole log is {log_path}", file=sys.stderr)
    return code


def mine(req: Request, cores=None, profile=None, *, dry_run=False, echo="steps") -> Path:
    """Mine ``req`` into ``req.output``; returns the mined file's path. Raises
    ``SystemExit`` with the workflow's exit code if it fails or is interrupted."""
    folder = req.output.expanduser().resolve()
    config = build_config(req)
    with run_lock(folder):
        (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        code = run_workflow(folder, cores, profile, dry_run=dry_run, echo=echo)
    if code:
        raise SystemExit(code)
    return folder / mined_file(config, req.name)


# ------------------------------------------------------------------ the command line


def options_help() -> str:
    """Every option of every config block, with its doc and default (``--set`` keys)."""
    lines = ["options (--set BLOCK.KEY=VALUE; dataset.KEY sets the input's own keys):"]
    blocks = {"mining": MiningOptions, **BLOCKS}
    for block, cls in blocks.items():
        lines.append(f"\n  {block}:")
        for f in fields(cls):
            default = "required" if f.default is MISSING else f.default
            default = "none" if default is None else default
            lines.append(f"    {block}.{f.name} (default {default!s}): {f.metadata['doc']}")
    lines.append(f"\n  presets: {', '.join(PRESETS)}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hardneg", description="Hard-negative mining for text-embedding training.")
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "mine",
        help="mine one dataset",
        description="Mine hard negatives for one dataset of (query, positive) pairs. The same command "
        "again resumes an interrupted run; a changed mining flag re-mines from the cached candidates.",
        epilog=options_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="a table (parquet, JSON lines, CSV/TSV, Arrow: file, folder or glob), "
                   "a pairs file, or hf://datasets/OWNER/NAME@REV with --split")  # fmt: skip
    p.add_argument("--model", required=True, help="the sentence-transformers model: hub id, folder or pkg:MODULE")
    p.add_argument("--output", required=True, type=Path, help="the run folder (created; reused to resume)")
    p.add_argument("--format", dest="output_format", help="mining.output_format (default: the preset's)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="mining.preset (default seed)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="any config key, e.g. mining.num_negatives=8 or model.batch_size=128 (repeatable)")  # fmt: skip
    p.add_argument("--name", help="the dataset's name (default: from INPUT)")
    p.add_argument("--input-format", default="table", choices=("table", "pairs"),
                   help="table: named columns (default); pairs: sentence-transformers' JSON-list lines")  # fmt: skip
    p.add_argument("--split", help="a hub repo's split (hf:// inputs)")
    p.add_argument("--query-column", help="the query column (default: the first)")
    p.add_argument("--positive-column", help="the positive column (default: the second)")
    p.add_argument("--cores", type=int, help="CPU cores for the run (default: all)")
    p.add_argument("--profile", help="a Snakemake profile, e.g. for SLURM")
    p.add_argument("-n", "--dry-run", action="store_true", help="check the config and show the jobs; run nothing")
    p.add_argument("-v", "--verbose", action="store_true", help="print Snakemake's whole output")
    return top


def request(args) -> Request:
    settings = []
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"hardneg: --set {item!r}: expected KEY=VALUE, e.g. mining.num_negatives=8")
        settings.append((key.strip(), parse_value(value)))
    return Request(
        source=args.input,
        model=args.model,
        output=args.output,
        name=args.name or dataset_name(args.input),
        input_format=args.input_format,
        output_format=args.output_format,
        preset=args.preset,
        split=args.split,
        query_column=args.query_column,
        positive_column=args.positive_column,
        settings=tuple(settings),
    )


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    req = request(args)
    echo = "all" if args.verbose or args.dry_run else "steps"  # a dry run is its list of jobs
    path = mine(req, args.cores, args.profile, dry_run=args.dry_run, echo=echo)
    if args.dry_run:
        return
    folder = path.parent
    print(f"mined: {path}")
    print(f"card:  {folder / 'README.md'}  (report: {folder / 'summary.md'})")
    print(f'load:  datasets.load_dataset("{folder}", "{req.name}", split="train")')


if __name__ == "__main__":
    main()
