"""Hugging Face Hub repositories as local files, through the real `huggingface_hub` client.

A hub id is `hub:owner/name[@revision][:FILE][#KEY]`: a repo, optionally pinned to a branch,
tag or commit, optionally one file of it and an entry inside that file (`#KEY` is read by the
checkpoint loader, not here). An id the Hub would not accept (`..`, extra slashes, odd
characters: huggingface_hub's `validate_repo_id`; a revision with `..`) is refused before any
cache path is made from it. Resolution:

- one listing call (`/api/models/{repo}/revision/{rev}`) gives the commit and the file list,
  kept for the rest of the process; only listed files are ever requested, so an optional file
  the repo does not have costs nothing;
- offline (`HF_HUB_OFFLINE=1`), or when the Hub cannot be reached, the cache's snapshot of that
  revision is the listing: no retries, one warning when the server was tried and failed;
- the weights are chosen from the listing by name (`ganinv.repo_files.pick_weights`): safetensors, pickles
  (`.bin .pt .pth .ckpt .tar .pkl .model`) and sharded indexes, optimizer/discriminator files left out,
  the generator-looking (and moving-average) one preferred, the choice announced when there
  was one;
- a cached file that reads as truncated or corrupt is checked against its blob's hash, and a damaged one
  downloaded again (`damaged_copy`); offline, a damaged or data-less cached file is said so;
- every error names the id the user typed, never the cache folder.

`snapshot(repo, revision, allow_patterns)` fetches the listed files matching some patterns
and returns the snapshot folder, for artifacts (inverters, MVAEs) kept on the Hub.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import hashlib
import logging
import os
import re
import warnings
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator, Optional, Sequence

from ganinv.errors import GaninvError, SourceError, first_line
from ganinv.repo_files import (
    INDEX_SUFFIXES,
    AverageBeside,
    beside,
    compare_twins,
    format_twins,
    is_weights,
    pick_weights,
    registered_average,
    registered_states,
    shards_of,
    shown_name,
)

logger = logging.getLogger("ganinv")

PREFIX = "hub:"
DEFAULT_REVISION = "main"
CONFIG_NAME = "config.json"
SPEC_NAME = "spec.json"
COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclasses.dataclass(frozen=True)
class HubId:
    """`hub:owner/name[@revision][:FILE][#KEY]`, parsed."""

    repo: str
    revision: Optional[str]  # as typed; None: the default branch
    filename: Optional[str]  # one file of the repo, as typed after ':'
    key: Optional[str]  # an entry inside that file, after '#'
    text: str  # what the user typed, for messages

    @property
    def repo_text(self) -> str:
        """The repo part as typed (no file, no key), e.g. hub:owner/name@v1."""
        return PREFIX + self.repo + (f"@{self.revision}" if self.revision else "")


def pinned(source: str, commit: Optional[str], file: Optional[str] = None) -> str:
    """`source` at `commit` where it is a Hub id: a run resumed after the repo's branch or tag moved must train on
    the weights it started with, the commit it recorded (the Hub keeps every commit). `file`: the weights file chosen
    then, where the source names none (offline, the cache's other files were chosen among: audit 36c)."""
    if not source.startswith(PREFIX) or not commit:
        return source
    hub_id = parse(source)
    chosen = hub_id.filename if hub_id.filename is not None else file if isinstance(file, str) and file else None
    file = f":{chosen}" if chosen is not None else ""
    key = f"#{hub_id.key}" if hub_id.key is not None else ""
    return f"{PREFIX}{hub_id.repo}@{commit}{file}{key}"


HUB_URL = re.compile(
    r"(?:hub:)?https?://(?:www\.)?(?:huggingface\.co|hf\.co)/(?P<repo>[^/@:#?\s]+/[^/@:#?\s]+)"
    r"(?:/(?:tree|blob|resolve)/(?P<rev>[^/?#\s]+)(?:/(?P<file>[^?#\s]+))?)?/?(?:[?#].*)?"
)


def hub_id_of_url(source: str) -> Optional[str]:
    """The hub id a pasted Hub address names (`https://huggingface.co/owner/name/blob/main/G.pth` ->
    `hub:owner/name@main:G.pth`), or None."""
    found = HUB_URL.fullmatch(source.strip())
    if found is None:
        return None
    rev = f"@{found['rev']}" if found["rev"] else ""
    return f"{PREFIX}{found['repo']}{rev}" + (f":{found['file']}" if found["file"] else "")


def refuse_url(source: str) -> None:
    """A web address is not a source: say the hub id it names (read as `module:callable`, it was "No module named
    'https'"; after `hub:`, a listing of a repo named `https`)."""
    hub_id = hub_id_of_url(source)
    if hub_id is not None:
        raise SourceError(f"{source} is a web address; write the repo it names as {hub_id}")
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", source)  # read as module:callable: "No module named 'hf'"
    if scheme is None:
        return
    rest = source[scheme.end() :]
    if scheme[1].lower() == "hf":  # huggingface_hub's own address form (HfFileSystem): hf://owner/name[@rev][/path]
        if rest.startswith(("datasets/", "spaces/")):
            raise SourceError(f"{source} is a Hub {rest.split('/')[0][:-1]}, not a model repo: ganinv loads models")
        owner, _, more = rest.partition("/")
        name, _, path = more.partition("/")
        said = f"{PREFIX}{owner}/{name}" + (f":{path}" if path else "")
        raise SourceError(f"{source} is a Hub address; write it as {said}")
    if scheme[1].lower() == "file":
        raise SourceError(f"{source} is a file address; give the file's path, {rest}")
    raise SourceError(
        f"{source} is a {scheme[1]} address, and ganinv downloads nothing but Hub repos ({PREFIX}owner/name): "
        "download the file and give its path"
    )


def parse(source: str) -> HubId:
    refuse_url(source)
    body = source[len(PREFIX) :] if source.startswith(PREFIX) else source
    body, _, key = body.partition("#")
    match = re.fullmatch(r"(?P<repo>[^@:]+)(?:@(?P<rev>[^:]*))?(?::(?P<file>.*))?", body)
    if match is None or not match["repo"].strip("/") or match["rev"] == "" or match["file"] == "":
        raise SourceError(
            f"{source!r} is not a hub id; write hub:owner/name, optionally @revision (branch, tag or "
            "commit), :FILE and #ENTRY, e.g. hub:owner/name@v1:model.pt#GAN.GE"
        )
    check_repo_id(match["repo"], source)
    revision = match["rev"]
    if revision is not None and (".." in revision or revision.startswith("/") or re.search(r"[\s\\~^?*\[]", revision)):
        raise SourceError(
            f"{source!r}: {revision!r} is not a valid revision (a git branch, tag or commit hash has "
            "no '..', leading '/', spaces or \\ ~ ^ ? * [); use e.g. @main, @v1 or a commit hash"
        )
    return HubId(match["repo"], match["rev"], match["file"], key or None, source)


def check_repo_id(repo: str, source: str) -> None:
    """Refuse what the Hub would not accept as a repo id (`..`, extra slashes, odd characters) before any
    listing, cache look-up or path is made from it."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo)
    except HFValidationError as exc:
        reason = first_line(exc).split(": '")[0].replace("Use `repo_type` argument if needed.", "").strip()
        raise SourceError(
            f"{source!r}: {repo!r} is not a valid repo id ({reason}); use owner/name, e.g. hub:owner/name@v1"
        ) from None


@dataclasses.dataclass(frozen=True)
class Listing:
    """A repo's files at one commit, and where the cache keeps them."""

    commit: str
    files: tuple[str, ...]
    folder: Path  # the cache's snapshot folder for this commit (files appear as they are fetched)
    from_cache: bool  # True: read from the cache (offline, or the Hub could not be reached)


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a generator load needs from a repo, fetched into the local cache."""

    id: HubId
    commit: str
    folder: Path
    weights: str  # the chosen weights file (or sharded index), relative to the repo root
    shards: tuple[str, ...]  # the files holding the tensors: the weights file, or the index's shards
    config: Optional[str]  # config.json beside the weights, if the repo has one
    spec: Optional[str]  # a spec sidecar, if the repo has one
    candidates: tuple[str, ...]  # every weights file the listing offered

    def path(self, name: str) -> Path:
        return self.folder / name

    def label(self, name: Optional[str] = None) -> str:
        """How messages name a file of this repo: hub:owner/name@rev:FILE."""
        return self.id.repo_text + (f":{name}" if name else "")

    def meta(self) -> dict[str, Any]:
        """What a generator's `meta` records of where it came from: the resolved commit, whatever branch or tag was
        typed, and the files read."""
        return {
            "revision": self.commit,
            "hub": {
                "repo": self.id.repo,
                "requested_revision": self.id.revision,
                "commit": self.commit,
                "file": self.weights,
                "config": self.config,
            },
        }


# ---- the client's settings, read now (the client reads its environment once, at import) ----------------


def offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def cache_dir() -> Path:
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path(constants.HF_HUB_CACHE)


def endpoint() -> str:
    from huggingface_hub import constants

    given = os.environ.get("HF_ENDPOINT")
    if given and not re.match(r"https?://", given):  # the client's "missing an 'http://'" read as unreachable (49a)
        raise SourceError(f"HF_ENDPOINT={given} is not a URL: write it with http:// or https://")
    return (given or constants.ENDPOINT).rstrip("/")


def repo_folder(repo: str) -> Path:
    return cache_dir() / f"models--{repo.replace('/', '--')}"


# ---- listing ---------------------------------------------------------------------------------------------

_LISTINGS: dict[tuple[str, str, str, str], Listing] = {}  # (endpoint, cache, repo, revision) -> listing


def list_repo(hub_id: HubId) -> Listing:
    """The commit and files of the repo at the requested revision: one call to the Hub, else the cache."""
    if offline():
        return cached_listing(hub_id, "HF_HUB_OFFLINE is set")
    revision = hub_id.revision or DEFAULT_REVISION
    key = (endpoint(), str(cache_dir()), hub_id.repo, revision)
    if key in _LISTINGS:
        return _LISTINGS[key]
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        info = HfApi(endpoint=endpoint()).model_info(hub_id.repo, revision=hub_id.revision, timeout=_timeout())
    except HFValidationError as exc:
        raise SourceError(
            f"{hub_id.text!r}: {hub_id.repo!r} is not a valid repo id ({first_line(exc)}); use hub:owner/name"
        ) from None
    except GatedRepoError as exc:  # the Hub's words, and advice that fits a token already given (audit 49a)
        from huggingface_hub import get_token

        advice = (
            "the token given (HF_TOKEN or `hf auth login`) has no access to it: request access on its page, or use a "
            "token of an account that has it"
            if get_token()
            else "accept its terms on the Hub and log in with `hf auth login` (or set HF_TOKEN)"
        )
        raise SourceError(f"{hub_id.repo_text} is gated ({server_message(exc)}); {advice}") from None
    except RepositoryNotFoundError:
        raise SourceError(
            f"no Hugging Face repo {hub_id.repo!r} (from {hub_id.text}), or it is private: log in with `hf auth login`"
        ) from None
    except RevisionNotFoundError:
        if re.fullmatch(r"[0-9a-fA-F]{40}", hub_id.revision or ""):  # a run's or an artifact's pin (audit 41b)
            raise SourceError(
                f"{hub_id.repo_text}: no commit {hub_id.revision} on the Hub nor in the local cache: mistyped, or, "
                "where a run or an inverter pinned it, the repo's history was rewritten since, and it cannot get the "
                f"same generator back: restore that snapshot to the cache, or start anew from hub:{hub_id.repo}"
            ) from None
        raise SourceError(f"{hub_id.repo_text}: no such revision; give a branch, tag or commit hash after @") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status is not None and status < 500 and status != 429:
            from huggingface_hub import get_token

            advice = "; if it is private or gated, log in with `hf auth login`" if status in (401, 403) else ""
            if status == 401 and get_token():  # an expired token was blamed on the repo (an outside audit, 55c)
                advice = (
                    "; the token in use (HF_TOKEN or `hf auth login`'s) is not valid, or has no access to it: "
                    "replace it, or unset HF_TOKEN for a public repo"
                )
            raise SourceError(
                f"the Hub refused to list {hub_id.repo_text} (HTTP {status}: {server_message(exc)}){advice}"
            ) from None
        return _unreachable(hub_id, f"the Hub answered HTTP {status} ({server_message(exc)})", busy=True)
    except Exception as exc:  # connection refused, DNS, timeouts, proxies: the cache decides
        if not _is_network_error(exc):
            raise
        if timed_out(exc):  # a slow Hub or proxy was "could not be reached ... download it once online" (55c)
            return _unreachable(
                hub_id,
                f"the Hub did not answer within {_timeout():g} s (HF_HUB_ETAG_TIMEOUT)",
                advice=TIMEOUT_ADVICE,
            )
        return _unreachable(hub_id, f"the Hub could not be reached ({first_line(exc)})")
    if not info.sha:
        raise SourceError(f"the Hub's answer for {hub_id.repo_text} names no commit; is HF_ENDPOINT a Hub?")
    files = tuple(sorted(s.rfilename for s in (info.siblings or [])))
    listing = Listing(info.sha, files, repo_folder(hub_id.repo) / "snapshots" / info.sha, from_cache=False)
    _LISTINGS[key] = listing
    return listing


def server_message(exc: Exception) -> str:
    """What the Hub said (its X-Error-Message), else the client's first line."""
    said = getattr(exc, "server_message", None)
    return " ".join(str(said).split()) if said else first_line(exc)


# the file system's refusals of a folder: read-only, a file where a folder goes, no permission, no space
FOLDER_ERRNOS = {errno.EROFS, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EEXIST}


def cache_failure(exc: BaseException) -> Optional[str]:
    """What to do where the cache's own folder refused a write (read-only, a file in its place, no permission, full),
    or None: a read-only HF_HUB_CACHE had been "check the connection and retry" (an outside audit, 49a)."""
    cause: Optional[BaseException] = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.filename and cause.errno in FOLDER_ERRNOS:
            return (
                f"the Hugging Face cache cannot be written ({cause.strerror}: {cause.filename}); set HF_HUB_CACHE "
                "(or HF_HOME) to a writable folder"
            )
        cause = cause.__cause__ or cause.__context__
    return None


def download_failure(exc: Exception, hub_id: HubId) -> str:
    """Why a download failed and what to do, for the reasons users meet: a gated or private repo, too many
    requests, the Hub unreachable (the cache is named only where it holds the repo), a cache that cannot be
    written."""
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

    said = cache_failure(exc)
    if said:
        return said
    refused_name = exc if isinstance(exc, ValueError) and "Invalid filename" in str(exc) else None
    if refused_name is not None:  # a name with `..` or a root: no connection would help (an outside audit, 53a)
        return (
            f"the Hugging Face client refuses the repo's file name ({first_line(refused_name)}); nothing was written; "
            "ask the repo's owner to rename it, or name another of its files with hub:owner/name:FILE"
        )

    cause: Optional[BaseException] = exc  # the client wraps the Hub's last answer ("cannot find ... in the cache")
    while cause is not None and not isinstance(cause, HfHubHTTPError):
        cause = cause.__cause__ or cause.__context__
    response = getattr(cause, "response", None)
    status = getattr(response, "status_code", None)
    if cause is not None and cause is not exc and status is not None:
        exc = cause  # its words, not the wrapper's
    if isinstance(exc, GatedRepoError) or status in (401, 403):
        return (
            f"the repo is gated or private ({server_message(exc)}); request access on its page if it is gated, and "
            "log in with `hf auth login` (or set HF_TOKEN)"
        )
    if status is None and timed_out(exc):  # "check the connection" sent a user behind a slow proxy astray (55c)
        from huggingface_hub import constants

        return f"the Hub sent no data within {float(constants.HF_HUB_DOWNLOAD_TIMEOUT):g} s; {TIMEOUT_ADVICE}"
    # a snapshot with files: the client makes the folder before a download that then fails (an outside audit, 41b)
    cached = any(not p.is_dir() for p in (repo_folder(hub_id.repo) / "snapshots").rglob("*"))
    later = "retry later" if status == 429 or (status or 0) >= 500 else "check the connection and retry"
    answered = (
        f"the Hub answered HTTP {status}: " if status is not None and f"{status}" not in server_message(exc) else ""
    )
    return f"{answered}{server_message(exc)}; {later}" + (
        ", or set HF_HUB_OFFLINE=1 to use the cached snapshot" if cached else " (the cache holds no snapshot of it)"
    )


TIMEOUT_ADVICE = (
    "the Hub or a proxy is slow: retry later, or give the client more seconds with HF_HUB_ETAG_TIMEOUT (listings) "
    "and HF_HUB_DOWNLOAD_TIMEOUT (files), e.g. 60"
)


def timed_out(exc: BaseException) -> bool:
    """Whether the Hub answered the connection but not the request in time (httpx's ReadTimeout, a socket's timeout),
    anywhere in the causes; no connection at all (ConnectTimeout: a firewall dropping packets) is unreachable."""
    cause: Optional[BaseException] = exc
    slow = False
    while cause is not None:
        if type(cause).__name__.startswith("Connect"):  # ConnectTimeout, ConnectError (a review, 56a)
            return False
        slow = slow or isinstance(cause, TimeoutError) or "Timeout" in type(cause).__name__ or "timed out" in str(cause)
        cause = cause.__cause__ or cause.__context__
    return slow


def _unreachable(hub_id: HubId, why: str, busy: bool = False, advice: Optional[str] = None) -> Listing:
    """The cached snapshot, said, where the Hub could not be reached or was busy (`busy`: HTTP 429 or 5xx, whose
    advice is to retry later, not to go online: an outside audit, 49a)."""
    listing = cached_listing(hub_id, why, advice=advice or ("retry later" if busy else None))
    warnings.warn(f"{why}; using the cached snapshot {listing.commit[:12]} of {hub_id.repo_text}", stacklevel=3)
    return listing


def _is_network_error(exc: Exception) -> bool:
    """Connection refused, DNS, timeouts, proxies: errors of the transport (httpx, httpcore), not of the Hub."""
    transport = ("httpx", "httpcore", "requests", "urllib3")
    if cache_failure(exc):  # the cache's folder refused, not the Hub (an outside audit, 49a)
        return False
    return isinstance(exc, (ConnectionError, TimeoutError, OSError)) or any(
        cls.__module__.split(".")[0].startswith(transport) for cls in type(exc).__mro__
    )


def _timeout() -> float:
    from huggingface_hub import constants

    return float(constants.HF_HUB_ETAG_TIMEOUT)


def cached_listing(hub_id: HubId, reason: str, advice: Optional[str] = None) -> Listing:
    """The cache's snapshot of the requested revision: the files fetched before are the listing. `advice`: what to do
    where there is none (default: download it once online)."""
    root = repo_folder(hub_id.repo)
    revision = hub_id.revision or DEFAULT_REVISION
    snapshots = root / "snapshots"
    commit = None
    if COMMIT.fullmatch(revision) and (snapshots / revision).is_dir():
        commit = revision
    elif (root / "refs" / revision).is_file():
        commit = (root / "refs" / revision).read_text().strip()
        if not COMMIT.fullmatch(commit):  # empty or cut short (a crash mid-write): no snapshot to trust
            raise SourceError(
                f"the local Hugging Face cache's ref {revision!r} of {hub_id.repo_text} is damaged (it holds "
                f"{commit[:50]!r}, not a commit hash); delete {root / 'refs' / revision} and download the repo again"
            )
    elif re.fullmatch(r"[0-9a-f]{7,39}", revision) and snapshots.is_dir():
        matches = [p.name for p in snapshots.iterdir() if p.name.startswith(revision)]
        commit = matches[0] if len(matches) == 1 else None
    if commit is None or not (snapshots / commit).is_dir():
        # a snapshot fetched by commit leaves no ref of the branch: "not in the cache" hid it (an outside audit, 55c)
        held = sorted(p.name for p in snapshots.iterdir() if COMMIT.fullmatch(p.name)) if snapshots.is_dir() else []
        pinned = (
            f" (the cache holds {'commit' if len(held) == 1 else 'commits'} "
            + ", ".join(f"hub:{hub_id.repo}@{c[:12]}" for c in held[:3])
            + f" of it, but no {revision!r} that names one)"
            if held
            else ""
        )
        raise SourceError(
            f"{hub_id.repo_text} is not in the local Hugging Face cache{pinned} and {reason}; "
            + (advice or "download it once online" + (", or unset HF_HUB_OFFLINE" if "OFFLINE" in reason else ""))
        )
    folder = snapshots / commit
    inside = root.resolve()
    files: list[str] = []
    outside: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() or dangling(path):  # the client's links point into the repo's own blobs/; any other is
            # not its doing; a link whose blob is gone is listed, and `fetch` says its data is missing
            (files if path.resolve().is_relative_to(inside) else outside).append(path.relative_to(folder).as_posix())
    if outside:
        warnings.warn(
            f"the cached snapshot of {hub_id.repo_text} holds links out of its cache folder, left out: "
            f"{', '.join(outside[:5])}; the Hugging Face client makes none (someone else wrote them)",
            stacklevel=2,
        )
    return Listing(commit, tuple(files), folder, from_cache=True)


# ---- fetching ---------------------------------------------------------------------------------------------


def dangling(path: Path) -> bool:
    """A snapshot link whose blob is gone (a cache cleanup, `rm` in blobs/)."""
    return path.is_symlink() and not path.exists()


def fetch(hub_id: HubId, listing: Listing, names: Iterable[str], again: bool = False) -> Path:
    """Make the named (listed) files present in the snapshot folder; return the folder. `again`: download them
    even where cached (a damaged copy: `damaged_copy`)."""
    names = list(dict.fromkeys(names))
    if listing.from_cache:
        gone = [name for name in names if dangling(listing.folder / name)]
        if gone:  # was "no weights file ... it holds nothing" (an outside audit)
            raise SourceError(
                f"the cached copy of {hub_id.repo_text}:{gone[0]} is missing its data (its blob was removed from "
                f"the cache, e.g. by a cache cleanup); {go_online()}"
            )
        return listing.folder
    from huggingface_hub import hf_hub_download

    for name in names:
        try:
            hf_hub_download(
                hub_id.repo,
                name,
                revision=listing.commit,
                cache_dir=str(cache_dir()),
                endpoint=endpoint(),
                etag_timeout=_timeout(),
                force_download=again,
            )
        except Exception as exc:
            raise SourceError(
                f"cannot download {name} of {hub_id.repo_text}: {download_failure(exc, hub_id)}"
            ) from None
    _remember_ref(hub_id, listing.commit)
    return listing.folder


def go_online() -> str:
    """How to download a cached file again when the cache was read instead of the Hub."""
    return "unset HF_HUB_OFFLINE to download it again" if offline() else "download it again once the Hub is reachable"


DOWNLOADED_AGAIN = "it has been downloaded again"  # `sources.load_hub` then reads it once more


def damaged_copy(hub_id: HubId, label: str, message: str) -> Optional[str]:
    """For an error whose remedy is "download it again" (a file truncated, corrupt or empty), said of a file of this
    repo: whether the cached copy is the file the Hub sent. The client names each blob by the Hub's record of it
    (its ETag: an LFS file's sha256, else its git blob sha1) and returns a cached file as it is, so a damaged blob
    failed every retry, online too (an outside audit). A damaged copy is downloaded again (online) or said
    (offline); None where the cached copy is intact or cannot be checked."""
    if "download it again" not in message:
        return None
    listing = list_repo(hub_id)
    for name in listing.files:
        if f"{label}:{name}" not in message:
            continue
        intact = blob_intact(listing.folder / name)
        if intact is None:
            return None
        if intact:  # downloading again gives the same bytes (an outside audit: the advice could not help)
            return (
                f"{message} (the cached copy is the file the Hub holds, so downloading it again will not help: the "
                f"Hub's own copy is damaged; ask the repo's author to upload it again, or choose another file with "
                f"{label}:FILE)"
            )
        if listing.from_cache:
            return f"the cached copy of {label}:{name} is damaged (it is not the file the Hub sent); {go_online()}"
        fetch(hub_id, listing, [name], again=True)
        return f"the cached copy of {label}:{name} was damaged (it is not the file the Hub sent); {DOWNLOADED_AGAIN}"
    return None


def blob_intact(path: Path) -> Optional[bool]:
    """Whether the cached file's data hashes to its blob's name (the Hub's ETag); None where the name is no hash to
    check against."""
    blob = path.resolve()
    if re.fullmatch(r"[0-9a-f]{64}", blob.name):
        digest = hashlib.sha256()
    elif re.fullmatch(r"[0-9a-f]{40}", blob.name):  # a file kept in git, not LFS
        digest = hashlib.sha1(f"blob {blob.stat().st_size}\0".encode())
    else:
        return None
    with open(blob, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == blob.name


CHOICES = "ganinv-choices"  # beside the cache's refs/: the weights file chosen online at each commit


def remember_choice(
    hub_id: HubId, commit: str, weights: str, beside: Iterable[str] = (), candidates: Iterable[str] = ()
) -> None:
    """Record which file was chosen from the repo's full listing, and the config and spec files read `beside` it
    (one name a line): offline, the cache holds only the files fetched, and choosing among those loaded another file
    (the non-averaged generator, an earlier epoch) under the same commit, in silence (an outside audit); a cache
    holding the weights without the config read with them loaded a Tanh generator for a Sigmoid one (audit 36c).
    After a blank line, the `candidates` it was chosen among, where there were several: offline, the choice is said
    again (it had been taken without a word: audit 49b)."""
    note = repo_folder(hub_id.repo) / CHOICES / commit
    candidates = list(candidates)
    text = "\n".join([weights, *beside]) + ("\n\n" + "\n".join(candidates) if len(candidates) > 1 else "")
    try:
        note.parent.mkdir(parents=True, exist_ok=True)
        if not note.is_file() or note.read_text() != text:
            write_in_cache(note, text)
    except OSError as exc:  # a read-only cache still works online
        logger.info("could not record the choice of %s in the cache: %s", weights, exc)


def write_in_cache(path: Path, text: str) -> None:
    """Write a record of ganinv's into the cache, replacing the entry itself (never writing through a link there)
    and only inside the cache: a prepared cache's record linked to ~/.bashrc got the repo author's file name,
    `netG; touch ... #.pth`, written into it (an outside audit)."""
    from ganinv.atomic import write_text

    if not Path(os.path.realpath(path.parent)).is_relative_to(os.path.realpath(cache_dir())):
        raise OSError(f"{path.parent} leads outside the cache {cache_dir()}")
    write_text(path, text)


# what a repo holds beside its weights, never named as them (a config, a card, a note)
NOT_WEIGHTS_SUFFIXES = (".json", ".md", ".txt", ".yaml", ".yml", ".gitattributes", ".toml", ".cfg", ".png", ".jpg")


def choice_offline(hub_id: HubId, listing: Listing) -> tuple[str, tuple[str, ...], bool]:
    """(weights, candidates, recorded): the file chosen online at this commit, where the cache holds it with the
    files read beside it; else a choice among the cached files only (said by `resolve`, and its formats compared,
    as online)."""
    recorded, chosen_among = recorded_sections(hub_id, listing.commit)
    where = hub_id.repo_text
    if recorded[0] in listing.files:
        check_read_beside(hub_id, listing, recorded[0])
        if len(chosen_among) > 1:  # said online; taken again without a word offline (an outside audit, 49b)
            warnings.warn(
                f"{where} (offline): using {recorded[0]}, the file chosen online at this commit among "
                f"{len(chosen_among)} weights files ({', '.join(map(shown_name, chosen_among[:6]))}); choose another "
                f"with {where}:FILE",
                stacklevel=3,
            )
        return recorded[0], (recorded[0],), True
    if not any(is_weights(f) for f in listing.files):  # the cache holds what was fetched, not the repo (audit 49a)
        held = ", ".join(sorted(listing.files)[:6])
        unnamed = sorted(f for f in listing.files if not f.lower().endswith(NOT_WEIGHTS_SUFFIXES))
        raise SourceError(
            f"{where}'s cached snapshot "
            + (f"holds only {held}" if held else "is empty")  # "only nothing" (55c)
            + ": no weights file of it was fetched into the cache; unset "
            "HF_HUB_OFFLINE, or retry when the Hub can be reached, to fetch them"
            # a file not named as weights (d2l's net_G.params): online names it so too (an outside audit, 53b)
             + (f"; if {', '.join(unnamed[:3])} is the generator's file, name it: {where}:FILE" if unnamed else "")
        )
    weights, candidates = pick_weights(
        listing.files, f"{where} (its cached snapshot)", where, f"{where}:FILE", registered_average_in(hub_id, listing)
    )
    check_same_weights(hub_id, listing, weights)
    return weights, candidates, False


def registered_average_in(hub_id: HubId, listing: Listing) -> AverageBeside:
    """`pick_weights`' look for a moving average accelerate saved beside the chosen weights (`registered_average`):
    both files are fetched only where the repo has such a state beside them."""

    def average_beside(chosen: str, candidates: tuple[str, ...]) -> Optional[tuple[str, str]]:
        registered = registered_states(chosen, candidates)
        if not registered:
            return None
        return registered_average(fetch(hub_id, listing, [chosen, *registered]), chosen, candidates)

    return average_beside


def recorded_choice(hub_id: HubId, commit: str) -> list[str]:
    """[weights, the files read beside them] as `remember_choice` recorded them at `commit`; [""] where none was."""
    return recorded_sections(hub_id, commit)[0]


def recorded_sections(hub_id: HubId, commit: str) -> tuple[list[str], list[str]]:
    """([weights, the files read beside them], [the candidates they were chosen among, where several]) as
    `remember_choice` recorded them at `commit`; ([""], []) where none was."""
    note = repo_folder(hub_id.repo) / CHOICES / commit
    if not note.is_file():
        return [""], []
    chosen, _, candidates = note.read_text().partition("\n\n")
    return chosen.split("\n"), [c for c in candidates.split("\n") if c]


def check_read_beside(hub_id: HubId, listing: Listing, weights: str) -> None:
    """Offline, refuse `weights` without the config or spec file read beside them online, where that was recorded:
    without it the generator is not the one loaded online (a Sigmoid one loaded as Tanh, 0.30 off: audit 36c),
    also where an inverter names the file it was fitted on (review 37a)."""
    recorded = recorded_choice(hub_id, listing.commit)
    missing = [name for name in recorded[1:] if name and name not in listing.files] if recorded[0] == weights else []
    if missing:
        raise SourceError(
            f"the cached snapshot of {hub_id.repo_text} lacks {', '.join(missing)}, which ganinv read with {weights} "
            "online (files fetched one by one, or removed by a cache cleanup); without it the generator would not "
            "be the one loaded online: unset HF_HUB_OFFLINE once to fetch it"
        )


def unrecorded_cache_note(where: str, candidates: tuple[str, ...], weights: str, read: list[str]) -> str:
    """What a choice among the cached files alone leaves open: which file online, and whether a config was beside."""
    beside = (
        f"; it is read with {', '.join(read)}"
        if read
        else "; no config.json or spec file is cached beside it, and"
        " one the repo may hold would set what the weights leave open (an output activation, the prior)"
    )
    return (
        f"{where} is read from the cache, which holds only the files fetched before ({', '.join(candidates[:4])}), "
        f"not the repo's listing: {weights} is chosen among those, and online another may be{beside}; unset "
        f"HF_HUB_OFFLINE once to read the repo as it is, or name the file with {where}:FILE"
    )


def _remember_ref(hub_id: HubId, commit: str) -> None:
    """Record branch/tag -> commit as the client does, so an offline load of the same id finds the snapshot."""
    revision = hub_id.revision or DEFAULT_REVISION
    if COMMIT.fullmatch(revision) or commit.startswith(revision):
        return
    ref = repo_folder(hub_id.repo) / "refs" / revision
    try:
        ref.parent.mkdir(parents=True, exist_ok=True)
        if not ref.is_file() or ref.read_text().strip() != commit:
            write_in_cache(ref, commit)
    except OSError as exc:  # a read-only cache still works online
        logger.info("could not record %s -> %s in the cache: %s", revision, commit, exc)


def snapshot(
    repo: str, revision: Optional[str] = None, allow_patterns: Optional[list[str]] = None, needed: Iterable[str] = ()
) -> Path:
    """The listed files of `repo` at `revision` matching any of `allow_patterns` (fnmatch, e.g. "generator/*"),
    fetched into the cache; returns the snapshot folder. Offline or unreachable: the cached snapshot, which must hold
    the `needed` files where it holds any (else a download was cut short: said, not read as a damaged artifact
    through the cache's path)."""
    hub_id = parse(PREFIX + repo + (f"@{revision}" if revision else ""))
    listing = list_repo(hub_id)
    patterns = allow_patterns or ["*"]
    wanted = [f for f in listing.files if any(fnmatch.fnmatch(f, p) for p in patterns)]
    missing = [name for name in needed if name not in listing.files]
    if listing.from_cache and wanted and missing:
        raise SourceError(
            f"the cached snapshot of {hub_id.repo_text} lacks {', '.join(missing)} (a download cut short, or files "
            "fetched one by one); download it once online, or unset HF_HUB_OFFLINE"
        )
    return fetch(hub_id, listing, wanted)


def check_same_weights(hub_id: HubId, listing: Listing, weights: str) -> None:
    """Formats of one model are read as one only where they are: the other files are fetched and their tensors
    compared, and weights that differ (one file stale, or another model) are refused, naming both (an outside
    audit saw the safetensors taken over a different pickle in silence)."""
    twins = format_twins(weights, listing.files)
    if not twins:
        return
    compare_twins(fetch(hub_id, listing, [weights, *twins]), weights, twins, hub_id.repo_text)


def file_as_listed(hub_id: HubId, files: Sequence[str]) -> HubId:
    """`:FILE#ENTRY` split at the `#` that leaves a listed file, as a local path is split (`sources.split_entry`): a
    repo's `run#2/netG.pth` was "no file 'run'" in a message listing it (an outside audit, 55c)."""
    if hub_id.filename is None or hub_id.key is None or hub_id.filename in files:
        return hub_id
    typed = f"{hub_id.filename}#{hub_id.key}"
    splits = [typed] + [typed[:i] for i in reversed(range(len(typed))) if typed[i] == "#"]
    found = next((name for name in splits if name in files), None)
    if found is None:
        return hub_id
    return dataclasses.replace(hub_id, filename=found, key=typed[len(found) + 1 :] or None)


def resolve(source: str) -> Resolved:
    """List the repo, choose the generator's files, fetch them (and only them) into the cache."""
    hub_id = parse(source)
    listing = list_repo(hub_id)
    hub_id = file_as_listed(hub_id, listing.files)
    where = hub_id.repo_text
    candidates: tuple[str, ...]
    if hub_id.filename is not None:
        if hub_id.filename not in listing.files:
            state = "the cached snapshot of " if listing.from_cache else ""
            raise SourceError(
                f"{state}{where} has no file {hub_id.filename!r}; its weights files: "
                f"{', '.join(f for f in listing.files if is_weights(f)) or 'none'}"
                + ("; the cache holds only the files fetched before: unset HF_HUB_OFFLINE to fetch it" if state else "")
            )
        weights, candidates = hub_id.filename, (hub_id.filename,)
        if listing.from_cache:
            check_read_beside(hub_id, listing, weights)
    elif not listing.from_cache:
        weights, candidates = pick_weights(
            listing.files, where, where, average_beside=registered_average_in(hub_id, listing)
        )
        check_same_weights(hub_id, listing, weights)
    else:
        weights, candidates, recorded = choice_offline(hub_id, listing)
    config = beside(weights, listing.files, CONFIG_NAME)
    spec = beside(weights, listing.files, PurePosixPath(weights).name + ".json", SPEC_NAME)
    read = [name for name in (config, spec) if name]
    if hub_id.filename is None and not listing.from_cache:
        remember_choice(hub_id, listing.commit, weights, read, candidates)
    elif hub_id.filename is None and not recorded:
        warnings.warn(unrecorded_cache_note(where, candidates, weights, read), stacklevel=2)
    if weights.endswith(INDEX_SUFFIXES):
        fetch(hub_id, listing, [weights])
        shards = shards_of(listing.folder / weights, weights, where)
        missing = [s for s in shards if s not in listing.files]
        if missing:
            raise SourceError(
                f"{where}:{weights} names shards the repo{' cache' if listing.from_cache else ''} "
                f"does not have: {', '.join(missing[:4])}"
            )
    else:
        shards = (weights,)
    folder = fetch(hub_id, listing, [n for n in (config, spec, weights, *shards) if n])
    return Resolved(hub_id, listing.commit, folder, weights, shards, config, spec, candidates)


CACHE_PATH = re.compile(r"\S*models--[^\s/]+/snapshots/[0-9a-f]{40}(?:/(?P<file>[^\s,;:'\"()]*))?")


@contextlib.contextmanager
def errors_named(text: Optional[str], label: Optional[str] = None) -> Iterator[None]:
    """ganinv errors raised inside name the hub id the user typed (`text`), never the cache folder:
    a snapshot path becomes `label:FILE` (label defaults to the repo part of `text`)."""
    if text is None:
        yield
        return
    try:
        yield
    except GaninvError as exc:
        label = label or parse(text).repo_text
        message = CACHE_PATH.sub(lambda m: f"{label}:{m['file']}" if m["file"] else label, str(exc))
        message = damaged_copy(parse(text), label, message) or message
        if text not in message and label not in message:
            message = f"{text}: {message}"
        exc.args = (message,)
        raise
