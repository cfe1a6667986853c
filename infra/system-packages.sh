#!/usr/bin/env bash
# The Debian packages the test command needs on the machine, in one list, and how to install them.
# `scripts/test.sh` runs `install` before its first tier, so every tier finds them; the fresh-machine
# check (`scripts/fresh-check.sh`) removes them first with `packages` to prove that.
#
#   bash infra/system-packages.sh install [PACKAGE...]   # install what is missing (all, or the named ones)
#   bash infra/system-packages.sh check [PACKAGE...]     # exit 1 naming what is missing and the fix
#   bash infra/system-packages.sh packages               # the package names, one per line
#
# Idempotent: returns at once when every command is present. Needs root for apt-get (as on these
# machines); as another user it prints the `sudo apt-get install` line to run instead.
set -euo pipefail

# package:command[,command...] — a package counts as present when all its commands are on PATH.
# ffmpeg: the platform's decode, the camera tests' loop source and the model's training/evaluation
# decode all run it; ffprobe comes in the same package.
# chromium: the e2e tier's browser test of the web console drives it with playwright-core (no browser
# download from npm).
SYSTEM_PACKAGES=(
  "ffmpeg:ffmpeg,ffprobe"
  "chromium:chromium"
)

missing_packages() {
  local entry package commands command
  for entry in "${SYSTEM_PACKAGES[@]}"; do
    package="${entry%%:*}"
    commands="${entry#*:}"
    if [ "$#" -gt 0 ] && ! printf '%s\n' "$@" | grep -qxF "$package"; then continue; fi
    for command in ${commands//,/ }; do
      if ! command -v "$command" >/dev/null; then
        echo "$package"
        break
      fi
    done
  done
}

action="${1:-install}"
[ "$#" -gt 0 ] && shift
case "$action" in
  packages)
    for entry in "${SYSTEM_PACKAGES[@]}"; do echo "${entry%%:*}"; done
    ;;
  check)
    mapfile -t missing < <(missing_packages "$@")
    if [ "${#missing[@]}" -gt 0 ]; then
      echo "missing system packages: ${missing[*]}; run 'bash infra/system-packages.sh install' (as root) or 'sudo apt-get install -y ${missing[*]}'" >&2
      exit 1
    fi
    ;;
  install)
    mapfile -t missing < <(missing_packages "$@")
    [ "${#missing[@]}" -eq 0 ] && exit 0
    if [ "$(id -u)" != 0 ]; then
      echo "missing system packages: ${missing[*]}; run 'sudo apt-get install -y ${missing[*]}' (or this script as root)" >&2
      exit 1
    fi
    echo "[system-packages] installing ${missing[*]} from Debian's packages" >&2
    started=$(date +%s)
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "[system-packages] installed ${missing[*]} in $(($(date +%s) - started)) s" >&2
    ;;
  *)
    echo "usage: bash infra/system-packages.sh install|check|packages [PACKAGE...]" >&2
    exit 2
    ;;
esac
