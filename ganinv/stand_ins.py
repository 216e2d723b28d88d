"""Files standing in for the one expected: what a weights or image file is when it is not one.

A large-file pointer (Git LFS, git-annex: the file itself was never fetched), a web page saved in its place (a
sign-in page, or a GitHub 'blob' page fetched with wget or a browser: the commonest bad download), or other text (a
server's error reply). Each is named with what to do, instead of the reader's own failure (pickle's `KeyError: 60`
is the `<` of `<!DOCTYPE html>`; numpy's advice on an HTML page is to unpickle it).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Optional

# How a small text file standing in for a large one stored elsewhere begins: (what it is, what fetches the file).
POINTER_SIGNS = {
    b"version https://git-lfs.github.com/spec/": ("a Git LFS pointer", "run `git lfs pull` in its repository"),
    b"/annex/objects/": ("a git-annex pointer", "run `git annex get` on it"),
}
HEAD_BYTES = 4096  # enough for a page's <title>; weights and images are told apart from text in their first bytes


@dataclasses.dataclass(frozen=True)
class StandIn:
    what: str  # "a Git LFS pointer (131 bytes)"
    remedy: str  # why it is there and what to do

    def message(self, where: object, kind: str) -> str:
        return f"{where} is {self.what}, not {kind}: {self.remedy}"


def stand_in(path: Path, text_too: bool = False) -> Optional[StandIn]:
    """What stands in `path` instead of a weights or image file, else None. Pointers and web pages never begin a
    real file and are named up front; other text only when `text_too` (after a reader failed on the file: a
    protocol-0 pickle is text too)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        size = path.stat().st_size
    except OSError:  # what cannot be read is the reader's to say
        return None
    for sign, (what, fetch) in POINTER_SIGNS.items():
        if head.startswith(sign):
            return StandIn(f"{what} ({size} bytes)", f"the file itself was never fetched; {fetch}")
    title = web_page_title(head)
    if title is not None:
        return StandIn(
            f"an HTML page ({size} bytes" + (f", titled {title!r})" if title else ")"),
            "a web page was saved instead of the file (a sign-in page, or a GitHub 'blob' page); download the file "
            "itself (GitHub: the Raw link; the Hub: the /resolve/ URL, or `hf download`)",
        )
    if text_too and b"<svg" in head[:1024].lower():
        return StandIn(
            f"an SVG drawing ({size} bytes)",
            "ganinv reads raster images (PNG, JPEG, TIFF, ...) and arrays; convert it to a PNG at the generator's size",
        )
    line = text_start(head) if text_too else None
    if line is not None:
        return StandIn(
            f"a text file beginning {line!r}",
            "something else was saved in its place (an error message, a web server's reply); download the file "
            "again or save it again",
        )
    return None


def web_page_title(head: bytes) -> Optional[str]:
    """The title ('' when it has none) of a file beginning with `head` that is an HTML page, else None."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not (text.startswith(b"<!doctype html") or (text.startswith(b"<") and b"<html" in text)):
        return None
    found = re.search(rb"<title[^>]*>(.*?)</title", head, re.IGNORECASE | re.DOTALL)
    title = found.group(1).decode("utf-8", "replace") if found else ""
    return " ".join(title.split())[:80]


def text_start(head: bytes) -> Optional[str]:
    """The first line of a file beginning with `head` that is text, else None. Weights (safetensors' length prefix,
    a pickle's opcodes, a zip) and images (their magic numbers) are binary."""
    try:
        text = head[:512].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip() or any(ch < " " and ch not in "\t\r\n" for ch in text):
        return None
    return " ".join(text.strip().splitlines()[0].split())[:80]


def named_as_stand_in(path: Path, kind: str, where: object = None) -> Optional[str]:
    """The message for a file a reader of `kind` rejected that is something else (a saved web page, a pointer,
    text, a drawing), else None: the reader's own message stands. `where` names the file (a hub id), else `path`."""
    found = stand_in(path, text_too=True)
    return found.message(path if where is None else where, kind) if found else None
