"""A local stand-in for the Hugging Face hub, on 127.0.0.1: the endpoints huggingface_hub's
``repo_info``, ``list_repo_tree``, ``hf_hub_download`` and ``snapshot_download`` call, for
dataset repos held in memory. Point ``HF_ENDPOINT`` at :attr:`HubServer.url`.

A repo is ``{commit: {path: bytes}}`` plus ``refs`` (``main`` and tags -> commit), so a
test can pin either a branch or a commit."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INFO = re.compile(r"^/api/datasets/([^/]+/[^/]+)/revision/([^/]+)$")
TREE = re.compile(r"^/api/datasets/([^/]+/[^/]+)/tree/([^/]+)(?:/(.*))?$")
RESOLVE = re.compile(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


class HubServer:
    def __init__(self):
        self.repos: dict[str, dict] = {}  # repo -> {"commits": {sha: files}, "refs": {name: sha}}
        self.requests: list[str] = []  # "METHOD path" of every request
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_commit(self, repo: str, files: dict[str, bytes], refs=("main",)) -> str:
        """Add a commit of ``files`` to ``repo``; ``refs`` now point at it. Returns its sha."""
        sha = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
        entry = self.repos.setdefault(repo, {"commits": {}, "refs": {}})
        entry["commits"][sha] = dict(files)
        for ref in refs:
            entry["refs"][ref] = sha
        return sha

    def _resolve(self, repo: str, rev: str):
        entry = self.repos.get(repo)
        if entry is None:
            return None, None
        sha = entry["refs"].get(rev, rev)
        return sha, entry["commits"].get(sha)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code, body=b"", headers=None, head=False):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _json(self, obj, head=False):
                self._send(200, json.dumps(obj).encode(), {"Content-Type": "application/json"}, head)

            def _missing(self, what, head=False, code="EntryNotFound"):
                self._send(404, json.dumps({"error": what}).encode(), {"X-Error-Code": code}, head)

            def _route(self, head: bool):
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
                hub.requests.append(f"{self.command} {path}")
                routes = ((INFO, "info"), (TREE, "tree"), (RESOLVE, "resolve"))
                found = next(((kind, m) for pattern, kind in routes if (m := pattern.match(path))), None)
                if found is None:
                    return self._missing(f"no route {path}", head)
                kind, m = found
                repo, rev = m[1], m[2]
                sha, files = hub._resolve(repo, rev)
                if repo not in hub.repos:
                    return self._missing(f"Repository {repo} not found", head, "RepoNotFound")
                if files is None:
                    return self._missing(f"Invalid rev id: {rev}", head, "RevisionNotFound")
                if kind == "info":
                    siblings = [{"rfilename": p} for p in sorted(files)]
                    return self._json({"id": repo, "sha": sha, "siblings": siblings, "private": False}, head)
                if kind == "tree":
                    prefix = (m[3] or "").strip("/")
                    entries = [
                        {"type": "file", "path": p, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                        for p, b in sorted(files.items())
                        if not prefix or p.startswith(prefix + "/")
                    ]
                    return self._json(entries, head)
                name = m[3]
                if name not in files:
                    return self._missing(f"{name} not found at {rev}", head)
                body = files[name]
                etag = hashlib.sha1(body).hexdigest()
                headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}
                return self._send(200, body, headers, head)

            def do_GET(self):
                self._route(head=False)

            def do_HEAD(self):
                self._route(head=True)

        return Handler
