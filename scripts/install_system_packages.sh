#!/usr/bin/env bash
# Installs the system packages the browser tests need, only when missing: Debian's chromium, and
# fonts-noto-cjk, without which Chinese renders as empty boxes in the browser and its screenshots.
set -euo pipefail

missing=()
if [ -x /usr/bin/chromium ]; then
    echo "chromium: present at /usr/bin/chromium"
else
    missing+=(chromium)
fi
if fc-list ':family=Noto Sans CJK SC' family 2>/dev/null | grep -q .; then
    echo "fonts-noto-cjk: Noto Sans CJK present"
else
    missing+=(fonts-noto-cjk)
fi
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n) # -n: never wait for a password, so `make install` cannot hang
else
    echo "missing: ${missing[*]}; not root, and no password-less sudo; install them with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    echo "(the browser tests in tests/test_browser.py fail until they are installed)" >&2
    exit 1
fi

apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
