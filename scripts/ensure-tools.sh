#!/usr/bin/env bash
# Install the media tools vpo-tui drives (and tmux for the end-to-end test) when missing.
# Uses apt-get on Debian/Ubuntu, as root or through passwordless sudo; otherwise says what to install.
set -euo pipefail

need=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v mkvmerge >/dev/null 2>&1 && command -v mkvpropedit >/dev/null 2>&1 || need+=(mkvtoolnix)
if [ "${1:-}" = "--with-tmux" ]; then
  command -v tmux >/dev/null 2>&1 || need+=(tmux)
fi
[ ${#need[@]} -eq 0 ] && exit 0

echo "Installing missing tools: ${need[*]}" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: ${need[*]} not found and apt-get is not available; install them with your package manager" >&2
  echo "       (macOS: brew install ffmpeg mkvtoolnix tmux)" >&2
  exit 5
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "error: ${need[*]} missing; run: sudo apt-get install ${need[*]}" >&2
    exit 5
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
