#!/usr/bin/env bash
# A stand-in camera: the demo clips concatenated and streamed with ffmpeg, looping for ever (or --loops n
# times), as MPEG-TS over HTTP (one client at a time, like a simple IP camera) or into a file.
#
#   bash examples/camera/loop-source.sh                        # http://127.0.0.1:8554/live.ts, real time
#   bash examples/camera/loop-source.sh --port 9000 --speed 4  # four times real time
#   bash examples/camera/loop-source.sh --out /tmp/loop.mp4 --loops 0 --speed 0   # one pass into a file, fast
#
# Options: --clips n (first n demo clips, default 12), --port p, --out file, --loops n (extra passes; -1 =
# for ever, the default), --speed x (1 = real time, 0 = as fast as the reader takes it). The HTTP server
# serves one connection: when the reader goes away, ffmpeg exits (rerun it, as a camera would come back).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
clips_dir="${HBI_LOOP_CLIPS_DIR:-$here/../demo-library/clips}"
clips=12 port=8554 out="" loops=-1 speed=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clips) clips="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --loops) loops="$2"; shift 2 ;;
    --speed) speed="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "loop-source.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

list="$(mktemp -t hbi-loop-XXXXXX.txt)"
trap 'rm -f "$list"' EXIT
# No `| head` here: head exits after n lines and, under pipefail, the SIGPIPE that sort then gets
# would fail the script at random (whenever sort had more than one buffer left to write).
mapfile -t all_clips < <(find "$clips_dir" -maxdepth 1 -name '*.mp4' | sort)
for clip in "${all_clips[@]:0:$clips}"; do
  printf "file '%s'\n" "$clip"
done >"$list"
if [[ ! -s "$list" ]]; then
  echo "loop-source.sh: no .mp4 clips in $clips_dir" >&2
  exit 1
fi

rate=()
if [[ "$speed" != "0" ]]; then rate=(-readrate "$speed"); fi
input=(-hide_banner -loglevel error -nostdin "${rate[@]}" -stream_loop "$loops" -f concat -safe 0 -i "$list")
# Key frames every second and no B-frames, like a camera's live profile.
encode=(-an -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -force_key_frames 'expr:gte(t,n_forced*1)')
if [[ -n "$out" ]]; then
  ffmpeg -y "${input[@]}" "${encode[@]}" "$out"
else
  echo "loop-source.sh: serving http://127.0.0.1:$port/live.ts ($clips clips, speed ${speed}x)" >&2
  ffmpeg "${input[@]}" "${encode[@]}" -f mpegts -listen 1 "http://127.0.0.1:$port/live.ts"
fi
