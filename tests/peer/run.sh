#!/usr/bin/env bash
# Peer tests: unmodified Google clients (Python, Node) against drive-emulator.
#
#   EMULATOR_BIN=/path/to/drive-emulator tests/peer/run.sh
#
# EMULATOR_BIN defaults to <repo>/target/debug/drive-emulator; this script does not
# build it (run `cargo build -p drive-emulator` first). Each suite starts its own
# emulator with --port 0 and a temporary --data-dir. Idempotent: the venv
# (<repo>/.venv-peer) and node_modules are (re)installed only when missing or stale.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export EMULATOR_BIN="${EMULATOR_BIN:-$REPO/target/debug/drive-emulator}"
VENV="$REPO/.venv-peer"
REQ="$HERE/python/requirements.txt"

if [ ! -x "$EMULATOR_BIN" ]; then
  echo "peer: emulator binary not found: $EMULATOR_BIN (cargo build -p drive-emulator)" >&2
  exit 2
fi

# --- Python ---------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || { echo "peer: cannot create venv $VENV" >&2; exit 2; }
fi
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
stamp="$VENV/.peer-requirements.sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" \
    || { echo "peer: pip install failed" >&2; exit 2; }
  echo "$want" >"$stamp"
fi

status=0
(cd "$REPO" && "$VENV/bin/python" -m pytest -q tests/peer/python) || status=1

# --- Node -----------------------------------------------------------------
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  NODE_DIR="$HERE/node"
  lockhash="$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)"
  nstamp="$NODE_DIR/node_modules/.peer-lock.sha256"
  if [ ! -d "$NODE_DIR/node_modules" ] || [ "$(cat "$nstamp" 2>/dev/null)" != "$lockhash" ]; then
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) \
      || { echo "peer: npm ci failed" >&2; exit 2; }
    echo "$lockhash" >"$nstamp"
  fi
  (cd "$NODE_DIR" && node --test drive.test.js) || status=1
else
  echo "peer: node/npm not found, skipping the Node client test"
fi

exit $status
