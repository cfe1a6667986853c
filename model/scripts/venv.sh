#!/usr/bin/env bash
# Creates model/.venv when missing (or when pyproject.toml changed) and installs the pinned dependencies.
# Idempotent: a second run with nothing changed returns in well under a second.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="$here/.venv"
stamp="$venv/.installed-$(sha256sum "$here/pyproject.toml" | cut -c1-16)"
if [ ! -x "$venv/bin/python" ]; then
  echo "[model] creating virtual environment in $venv" >&2
  python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
  echo "[model] installing pinned dependencies (first run downloads torch, ~2 min)" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$here[dev]"
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
