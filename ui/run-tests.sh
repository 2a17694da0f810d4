#!/usr/bin/env bash
# Builds the UI and runs its tests in headless Chromium (Debian's /usr/bin/chromium, or
# $CHROMIUM), offline. Installs the npm packages first when they are missing or stale.
set -euo pipefail
cd "$(dirname "$0")"

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "run-tests.sh: $chromium not found; install it: apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# ui/dist is rebuilt only when a source is newer (the app embeds it: a new dist rebuilds it).
if [ ! -f dist/index.html ] || [ -n "$(find src index.html package-lock.json -newer dist/index.html -print -quit)" ]; then
  npm run --silent build
else
  npx tsc --noEmit
fi
npm test --silent
