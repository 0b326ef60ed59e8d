#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages in build/apt-packages.txt that are not
# installed yet (with sudo when not root). Run it before `npm ci`.
# `--check` only lists the missing ones (exit 1 when any is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t PACKAGES < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' build/apt-packages.txt | grep -v '^$')
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${1:-}" = "--check" ]; then
  [ "${#missing[@]}" -eq 0 ] && exit 0
  echo "${missing[*]}"
  exit 1
fi
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all ${#PACKAGES[@]} installed"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# With recommends, as the packages were tested (xvfb recommends xfonts-base, xauth).
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "system packages: done"
