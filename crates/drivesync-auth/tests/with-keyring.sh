#!/usr/bin/env bash
# Runs CMD... with a real, unlocked Secret Service: a private D-Bus session bus
# (dbus-run-session) and a throwaway GNOME Keyring in a temporary folder. Sets
# DRIVESYNC_KEYRING_TESTS=1, so the real-keychain tests run, and fail if it is unreachable.
# Needs (Debian): dbus gnome-keyring. Example:
#   crates/drivesync-auth/tests/with-keyring.sh cargo test -q -p drivesync-auth --test keyring
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing (Debian: apt-get install dbus gnome-keyring)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/home" "$tmp/data" "$tmp/run"
# The keyring lives under HOME/XDG dirs: point them at the temporary folder, but keep the
# Rust toolchain where it is.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
# A non-empty password: an empty one makes the daemon try to show a prompt, and fail.
export KEYRING_PASSWORD="drivesync-test-$$-$RANDOM"
export DRIVESYNC_KEYRING_TESTS=1

dbus-run-session -- bash -c '
  set -euo pipefail
  set -a
  eval "$(printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets)"
  set +a
  unset KEYRING_PASSWORD
  "$@"
' with-keyring "$@"
