"""Provenance recorded in run results and model manifests."""
from __future__ import annotations

import subprocess


def git_commit() -> str:
    """The checkout's HEAD commit, with "+dirty" when tracked files differ from it (the code that ran
    is then not exactly that commit), or "unknown" outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if changed else "")
