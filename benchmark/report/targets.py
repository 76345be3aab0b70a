"""Which existing files `leaderboard --out/--json` may replace: ones the leaderboard renderer wrote, not tracked by git.

A pasted example must not overwrite a hand-written page (the study's README.md) or a committed one; `--force` does.
The renderer's own output is recognised by its first line (markdown) or its top-level keys (JSON), so no marker
is added to the pages and the committed leaderboard renders byte-identically.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

MARKDOWN_TITLE = "# two-clocks leaderboard\n"  # the first line `leaderboard.to_markdown` writes
JSON_KEYS = frozenset({"schema_version", "methods", "rows", "records"})  # top-level keys `leaderboard.to_json` writes
MAX_JSON_BYTES = 256 * 2**20  # a larger file is not one the renderer wrote: not parsed, refused
GIT_TIMEOUT_S = 10.0


def overwrite_refusal(path: Path, flag: str, kind: str) -> str | None:
    """Why writing `kind` ('markdown' or 'json') to `path` would replace a file it should not, or None when it may."""
    if not path.is_file():
        return None  # absent, or a device/pipe such as /dev/stdout: nothing is lost
    if tracked_by_git(path):
        return f"{flag} {path} is tracked by git, so it is someone's page; pass --force to overwrite it, or write to a new file"
    if not written_by_leaderboard(path, kind):
        what = f"its first line is not {MARKDOWN_TITLE.strip()!r}" if kind == "markdown" else "it is not a leaderboard's JSON"
        return f"{flag} {path} exists and was not written by `leaderboard` ({what}); pass --force to overwrite it, or write to a new file"
    return None


def written_by_leaderboard(path: Path, kind: str) -> bool:
    """Whether the file at `path` reads as the renderer's output of `kind` ('markdown' or 'json')."""
    try:
        if kind == "markdown":
            with path.open("rb") as handle:
                return handle.read(len(MARKDOWN_TITLE.encode())) == MARKDOWN_TITLE.encode()
        if path.stat().st_size > MAX_JSON_BYTES:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and JSON_KEYS <= data.keys()


def tracked_by_git(path: Path) -> bool:
    """Whether git tracks `path` in the repository around it (False when git or a repository is absent)."""
    try:
        done = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", path.name],
            cwd=path.resolve().parent,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


__all__ = ["GIT_TIMEOUT_S", "JSON_KEYS", "MARKDOWN_TITLE", "MAX_JSON_BYTES", "overwrite_refusal", "tracked_by_git", "written_by_leaderboard"]
