"""Provenance recorded in run results and model manifests."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

# The repository root: model/hbi/provenance.py → the checkout the model code runs from.
REPO_ROOT = Path(__file__).resolve().parents[2]


def git_commit() -> str:
    """The checkout's HEAD commit, with "+dirty" when tracked files differ from it (the code that ran
    is then not exactly that commit), or "unknown" outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if changed else "")


def repo_relative(command: str, root: Path | None = None) -> str:
    """`command` with every absolute path under the repository root written from the root
    (`/home/me/hbi-platform/model/runs/x` → `model/runs/x`), so a manifest built in any checkout records
    how it was built without the builder's folders (`train-shipped.sh` passes absolute paths). Paths
    outside the root, and relative ones, are left as they are."""
    base = re.escape(str((root or REPO_ROOT).resolve()).rstrip("/"))
    # the root at the start of a word (after a space, a quote or "="), followed by "/" or by the word's end
    pattern = re.compile(r"(^|[\s\"'=])" + base + r"(/|(?=[\s\"']|$))")
    return pattern.sub(lambda m: m.group(1) + ("" if m.group(2) == "/" else "."), command)
