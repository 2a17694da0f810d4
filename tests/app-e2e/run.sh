#!/usr/bin/env bash
# The real app end to end (see e2e.mjs): builds drivesync-app and drive-emulator, starts the
# emulator and tauri-driver, and runs the WebDriver script under Xvfb and a private D-Bus
# session. Needs: xvfb, dbus, imagemagick, webkit2gtk-driver (WebKitWebDriver) and
# tauri-driver (`cargo install tauri-driver --locked`); ./x installs them.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -z "${INSIDE_XVFB:-}" ]; then
  # The binaries of a test build (what `cargo test --workspace` made; no rebuild then).
  # (--workspace: the features of `cargo test --workspace`, so nothing is rebuilt.)
  cargo test -q --no-run --workspace 2>/dev/null
  exec env INSIDE_XVFB=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" "$@"
fi
WORK="$(mktemp -d)"
cleanup() { kill "${EMU_PID:-}" "${DRIVER_PID:-}" 2>/dev/null || true; pkill -f "$WORK/config.toml" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$ROOT/target/debug/drive-emulator" --port 0 > "$WORK/emulator.out" 2> "$WORK/emulator.log" &
EMU_PID=$!
for _ in $(seq 100); do [ -s "$WORK/emulator.out" ] && break; sleep 0.1; done
EMULATOR_URL="$(head -1 "$WORK/emulator.out" | grep -o 'http://[^ ]*')"
cat > "$WORK/config.toml" <<TOML
data_dir = "state"
[google]
client_id = "drivesync-emulator.apps.googleusercontent.com"
client_secret = "emulator-secret"
endpoint = "$EMULATOR_URL"
[security]
plaintext_tokens_only = true
TOML
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
mkdir -p "$HOME"
DRIVESYNC_FOLLOW_CONSENT=1 tauri-driver --port 4444 > "$WORK/driver.log" 2>&1 &
DRIVER_PID=$!
for _ in $(seq 100); do curl -s http://127.0.0.1:4444/status >/dev/null 2>&1 && break; sleep 0.1; done
APP_BIN="$ROOT/target/debug/drivesync-app" APP_CONFIG="$WORK/config.toml" EMULATOR_URL="$EMULATOR_URL" \
  PAIR_DIR="$WORK/My Files" SHOTS_DIR="$ROOT/artifacts/app" node "$ROOT/tests/app-e2e/e2e.mjs" || {
  echo "--- tauri-driver log"; tail -50 "$WORK/driver.log"; echo "--- emulator log"; tail -20 "$WORK/emulator.log"; exit 1; }
