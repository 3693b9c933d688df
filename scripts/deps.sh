#!/usr/bin/env bash
# Installs what the project needs and is missing: Debian/Ubuntu packages, then the
# Python virtual environment in .venv with the project and its test tools, exactly as
# pinned in requirements.lock.
# Usage: scripts/deps.sh [--test]   (--test adds LibreOffice, poppler and Chromium for the test suite)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3 python3-venv python3-pip libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig)
if [ "${1:-}" = "--test" ]; then
  # libreoffice-writer, not -nogui: the tests make comments through UNO, which need its UI files
  packages+=(libreoffice-writer python3-uno poppler-utils chromium)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
stamp=.venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
# A venv made from another lock may hold packages this one dropped: start it afresh.
if [ ! -f "$stamp" ] && compgen -G ".venv/.installed-*" >/dev/null; then
  echo "requirements.lock or pyproject.toml changed: recreating .venv"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || { rm -rf .venv; /usr/bin/python3 -m venv .venv; }
fi
# Every Python package comes from requirements.lock, pinned with its hashes, so any machine
# gets the same bytes; the project itself is then installed in place without resolving
# anything (setuptools for the editable install is pinned in the lock too). Only wheels:
# building a package from source would give bytes that depend on the machine. Regenerate the
# lock with scripts/update-lock, never by hand.
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --require-hashes --no-deps --only-binary :all: -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  rm -f .venv/.installed-* && touch "$stamp"
fi
# The project's bytecode, as pip writes it for every package it installs: the editable install
# gets none, and where PYTHONDONTWRITEBYTECODE is set (CI images often set it) every command
# would compile the modules it imports again (0.1 s of each build). Only stale files are redone.
.venv/bin/python -m compileall -q compiler
