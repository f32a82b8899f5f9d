#!/bin/sh
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (tests/e2e).
#
# Installs the `chromium` package with apt-get when it is missing. It never fails the
# build: when Chromium cannot be installed here (not root, no apt-get, no package
# repository), it says why and exits 0, and the e2e tests skip with that reason.
# Playwright's own browser download (`playwright install`) is not used.
CHROMIUM=/usr/bin/chromium

say() { echo "ensure_chromium: $*"; }

if [ -x "$CHROMIUM" ]; then
    say "Chromium is already installed at $CHROMIUM"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "WARNING: $CHROMIUM is missing and there is no apt-get to install it;" \
        "the browser tests in tests/e2e will be skipped (install Debian's chromium package)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    say "WARNING: $CHROMIUM is missing and installing it needs root" \
        "(run: sudo apt-get install chromium); the browser tests in tests/e2e will be skipped"
    exit 0
fi

say "$CHROMIUM is missing: installing Debian's chromium package (apt-get update + install)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/dev/null; then
    say "WARNING: apt-get update failed; trying the install with the package lists there are"
fi
if apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; then
    :
else
    say "WARNING: apt-get install chromium failed (exit $?)"
fi

if [ -x "$CHROMIUM" ]; then
    say "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
else
    say "WARNING: Chromium could not be installed; the browser tests in tests/e2e will be skipped"
fi
exit 0
