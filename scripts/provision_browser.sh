#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages, for tests/test_browser.py.
# Nothing is downloaded by the test tools themselves; selenium is pointed at /usr/bin/chromedriver.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  echo "browser: chromium and chromedriver present"
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  echo "browser: installed chromium and chromium-driver"
else
  echo "error: the browser test needs Debian's chromium and chromium-driver: run 'sudo apt-get install chromium chromium-driver'" >&2
  exit 1
fi
