"""A local Hugging Face Hub-compatible HTTP endpoint for tests: the few routes `huggingface_hub` uses to list
a repo and download its files (`/api/models/{repo}[/revision/{rev}]`, HEAD/GET `/{repo}/resolve/{rev}/{file}`
with the X-Repo-Commit and ETag headers), serving repos held in memory, with a log of every request."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


class HubRepos:
    """Repos as commits of {file: bytes}, with refs (branches, tags) naming commits."""

    def __init__(self):
        self.commits: dict[str, dict[str, dict[str, bytes]]] = {}  # repo -> sha -> files
        self.refs: dict[str, dict[str, str]] = {}  # repo -> ref -> sha

    def commit(self, repo: str, files: dict[str, bytes | str | Path], refs=("main",)) -> str:
        data = {
            name: (Path(v).read_bytes() if isinstance(v, Path) else v.encode() if isinstance(v, str) else v)
            for name, v in files.items()
        }
        sha = hashlib.sha1(
            repr(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in data.items())).encode() + repo.encode()
        ).hexdigest()
        self.commits.setdefault(repo, {})[sha] = data
        for ref in refs:
            self.refs.setdefault(repo, {})[ref] = sha
        return sha

    def lookup(self, repo: str, revision: str):
        """(status, sha, files): 404s as the Hub sends them."""
        if repo not in self.commits:
            return "RepoNotFound", None, None
        sha = self.refs[repo].get(revision) or (revision if revision in self.commits[repo] else None)
        if sha is None and re.fullmatch(r"[0-9a-f]{7,39}", revision):  # a commit's unique prefix, as the Hub takes it
            matches = [c for c in self.commits[repo] if c.startswith(revision)]
            sha = matches[0] if len(matches) == 1 else None
        if sha is None:
            return "RevisionNotFound", None, None
        return None, sha, self.commits[repo][sha]


class Handler(BaseHTTPRequestHandler):
    repos: HubRepos
    log: list

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, headers: dict, body: bytes = b"", head: bool = False):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, code: str, head: bool, sha: str | None = None):
        headers = {"X-Error-Code": code, "X-Error-Message": code, "Content-Type": "application/json"}
        if sha:
            headers["X-Repo-Commit"] = sha
        self._send(404, headers, json.dumps({"error": code}).encode(), head)

    def _route(self, head: bool):
        path = urlparse(self.path).path
        self.log.append((self.command, unquote(path)))
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] == ["api", "models"]:
            repo = "/".join(parts[2:4])
            revision = parts[5] if len(parts) > 5 and parts[4] == "revision" else "main"
            code, sha, files = self.repos.lookup(repo, revision)
            if code:
                return self._error(code, head)
            body = {
                "id": repo,
                "modelId": repo,
                "sha": sha,
                "private": False,
                "siblings": [{"rfilename": name} for name in sorted(files)],
            }
            return self._send(200, {"Content-Type": "application/json"}, json.dumps(body).encode(), head)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            code, sha, files = self.repos.lookup(repo, revision)
            if code:
                return self._error(code, head)
            if name not in files:
                return self._error("EntryNotFound", head, sha)
            data = files[name]
            etag = hashlib.sha256(data).hexdigest()
            return self._send(
                200, {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}, data, head
            )
        return self._error("NotFound", head)

    def do_GET(self):
        self._route(head=False)

    def do_HEAD(self):
        self._route(head=True)


class HubServer:
    """`with HubServer() as hub: hub.repos.commit(...); os.environ["HF_ENDPOINT"] = hub.url`."""

    def __init__(self):
        self.repos = HubRepos()
        self.log: list = []
        handler = type("BoundHandler", (Handler,), {"repos": self.repos, "log": self.log})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def __exit__(self, *exc) -> None:
        self.stop()

    def requested(self, name: str) -> list:
        """Requests that touched a file name (any revision)."""
        return [r for r in self.log if r[1].endswith("/" + name)]
