#!/usr/bin/env bash
# Installs the system packages the browser tests need (Debian's chromium), only when missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium: present at /usr/bin/chromium"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing and this is not root; install it with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2
    echo "(the browser tests in tests/test_browser.py fail until /usr/bin/chromium exists)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
echo "chromium: installed at /usr/bin/chromium"
