#!/usr/bin/env bash
# The live-page browser test drives Debian's chromium through Playwright; install it
# when it is missing (needs apt and root, as on the CI/dev machines).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "chromium: installing Debian's chromium package for the browser test" >&2
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >&2
