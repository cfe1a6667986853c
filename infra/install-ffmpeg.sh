#!/usr/bin/env bash
# Installs Debian's ffmpeg (with ffprobe) when missing. Idempotent: returns at once when present.
# The model's training/evaluation decode and the platform's decode both run this ffmpeg.
set -euo pipefail
if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ffmpeg is missing: run 'sudo apt-get install -y ffmpeg' (or this script as root)" >&2
  exit 1
fi
echo "[infra] installing ffmpeg from Debian's packages" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
