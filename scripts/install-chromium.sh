#!/usr/bin/env bash
# Install Debian's chromium + chromium-driver for the browser test of report.html.
# Idempotent and quiet; never fails the build: when apt is unavailable (no root, no
# network, not Debian) it says so on stderr and exits 0, and the browser test skips.
set -u

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: apt-get not found; browser tests will be skipped." >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "install-chromium: not root and no passwordless sudo; browser tests will be skipped." >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# apt holds a lock; wait for it rather than failing when another install is running.
if ! $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null 2>&1; then
    echo "install-chromium: apt-get update failed; browser tests will be skipped." >&2
    exit 0
fi
if ! $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null 2>&1; then
    echo "install-chromium: apt-get install chromium failed; browser tests will be skipped." >&2
    exit 0
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "install-chromium: installed, but $CHROMIUM is missing; browser tests will be skipped." >&2
fi
exit 0
