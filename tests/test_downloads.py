"""Downloads: http retries, checksums and truncation against a real local server; the hub
path with no network and nothing cached; source parsing."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading

import pytest

from hardneg.data.sources import DownloadError, download_http, parse_source

PAYLOAD = b"line one\nline two\n" * 1000


class Handler(http.server.BaseHTTPRequestHandler):
    script: list = []  # per-request behaviour, consumed in order; then "ok"
    hits = 0

    def do_GET(self):  # noqa: N802
        Handler.hits += 1
        mode = Handler.script.pop(0) if Handler.script else "ok"
        if mode == "500":
            self.send_response(500)
            self.end_headers()
        elif mode == "404":
            self.send_response(404)
            self.end_headers()
        elif mode == "short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:100])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.script, Handler.hits = [], 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/data/file.jsonl.gz"
    httpd.shutdown()


MD5 = hashlib.md5(PAYLOAD).hexdigest()


def test_http_download_with_md5(server, tmp_path):
    dest = tmp_path / "out" / "file.jsonl.gz"
    download_http(server, dest, "ds", md5=MD5, backoff=0.01)
    assert dest.read_bytes() == PAYLOAD


def test_http_retries_server_errors_then_succeeds(server, tmp_path):
    Handler.script = ["500", "500"]
    dest = tmp_path / "f"
    download_http(server, dest, "ds", sha256=hashlib.sha256(PAYLOAD).hexdigest(), backoff=0.01)
    assert dest.read_bytes() == PAYLOAD and Handler.hits == 3


def test_http_gives_up_after_bounded_tries(server, tmp_path):
    Handler.script = ["500"] * 10
    dest = tmp_path / "f"
    with pytest.raises(
        DownloadError, match=r"dataset ds: cannot fetch http://127\.0\.0\.1:\d+/data/file.jsonl.gz after 3"
    ):
        download_http(server, dest, "ds", tries=3, backoff=0.01)
    assert Handler.hits == 3 and not dest.exists()


def test_http_404_fails_at_once(server, tmp_path):
    Handler.script = ["404"]
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_http(server, tmp_path / "f", "ds", backoff=0.01)
    assert Handler.hits == 1


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    dest = tmp_path / "f"
    with pytest.raises(DownloadError, match="md5 mismatch"):
        download_http(server, dest, "ds", md5="0" * 32, backoff=0.01)
    assert not dest.exists() and not list(tmp_path.iterdir())


def test_truncated_transfer_is_retried_and_never_kept(server, tmp_path):
    Handler.script = ["short", "short", "short"]
    dest = tmp_path / "f"
    with pytest.raises(DownloadError):
        download_http(server, dest, "ds", tries=3, backoff=0.01)
    assert not dest.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "source, kind, extra",
    [
        ("hf://datasets/o/n@abc123/sub/x.jsonl.gz", "hf", ("o/n", "abc123", "sub/x.jsonl.gz", "x.jsonl.gz")),
        ("https://h.example/a/b.zip", "http", ("", "", "", "b.zip")),
        ("file:///abs/p.parquet", "local", ("", "", "/abs/p.parquet", "p.parquet")),
        ("rel/dir", "local", ("", "", "rel/dir", None)),
    ],
)
def test_parse_source(source, kind, extra):
    s = parse_source(source)
    assert s.kind == kind
    assert (s.repo_id, s.revision, s.path) == extra[:3]
    if extra[3]:
        assert s.filename == extra[3]


@pytest.mark.parametrize("bad", ["hf://datasets/o/n/x.gz", "s3://bucket/x", "hf://models/o/n@r/x"])
def test_parse_source_rejects(bad):
    with pytest.raises(ValueError, match="source"):
        parse_source(bad)


HF_SOURCE = (
    "hf://datasets/sentence-transformers/embedding-training-data@91c4a1cea7caa27d2b6fa81a40e6ba85c46dc949/"
    "squad_pairs.jsonl.gz"
)


def _resetting_server():
    """A local endpoint that accepts each connection and closes it at once (a dead hub)."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv


@pytest.mark.parametrize("offline", ["1", "0", "reset"])
def test_hub_source_without_network_fails_fast_and_clearly(tmp_path, offline):
    """No network (or HF_HUB_OFFLINE=1) and an empty cache: one clear message, no hang.

    Every endpoint is on this machine: nothing listening (port 9), or a server that
    drops each connection. The subprocess timeout (60 s) is the hang guard."""
    code = (
        "from hardneg.data.sources import fetch, DownloadError\n"
        "try:\n"
        f"    fetch({HF_SOURCE!r}, 'out/squad.jsonl.gz', 'squad_pairs')\n"
        "except DownloadError as e:\n"
        "    print('ERR', e)\n"
    )
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1" if offline == "1" else "0",
    }
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # the discard port: nothing listens
    srv = _resetting_server() if offline == "reset" else None
    if srv is not None:
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{srv.getsockname()[1]}"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        if srv is not None:
            srv.close()
    out = proc.stdout
    assert out.startswith("ERR dataset squad_pairs: cannot fetch "), proc.stdout + proc.stderr
    assert "/datasets/sentence-transformers/embedding-training-data/resolve/91c4a1c" in out
    assert "squad_pairs.jsonl.gz" in out
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "squad.jsonl.gz").exists()
