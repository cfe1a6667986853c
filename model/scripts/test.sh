#!/usr/bin/env bash
# Runs the model package's pytest suite in its own virtual environment (created when missing).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/venv.sh"
command -v ffmpeg >/dev/null || { echo "[model] ffmpeg missing: run infra/install-ffmpeg.sh (apt-get install ffmpeg)" >&2; exit 1; }
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q "$@"
