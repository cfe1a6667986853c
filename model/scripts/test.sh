#!/usr/bin/env bash
# Runs the model package's pytest suite in its own virtual environment (created when missing).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/venv.sh"
bash "$here/../infra/system-packages.sh" install ffmpeg
cd "$here"
exec "$here/.venv/bin/python" -m pytest -q "$@"
