"""Provenance: the commit a package records says when the code that ran was not exactly that commit."""
import subprocess

from hbi.provenance import git_commit, repo_relative


def test_git_commit_marks_a_checkout_with_changed_tracked_files_dirty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert git_commit() == "unknown"  # not a checkout
    git = lambda *a: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *a], check=True, capture_output=True, text=True).stdout.strip()
    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-qm", "one")
    head = git("rev-parse", "HEAD")
    assert git_commit() == head
    (tmp_path / "notes.txt").write_text("untracked files do not count\n")
    assert git_commit() == head
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_commit() == head + "+dirty"


def test_repo_relative_writes_paths_under_the_root_from_the_root(tmp_path):
    root = tmp_path / "hbi-platform"
    cmd = (f"python -m hbi.train.train --data {root}/model/.data/synthclips --out={root}/model/runs/shipped "
           f"--note '{root}/a b' --cwd {root} --other {root}2/model/x --rel model/runs/y --abs /srv/data")
    assert repo_relative(cmd, root) == (
        "python -m hbi.train.train --data model/.data/synthclips --out=model/runs/shipped "
        f"--note 'a b' --cwd . --other {root}2/model/x --rel model/runs/y --abs /srv/data")
    # the default root is this checkout's
    from hbi.provenance import REPO_ROOT
    assert repo_relative(f"--run {REPO_ROOT}/model/runs/shipped") == "--run model/runs/shipped"
