#!/usr/bin/env bash
# Refresh the vendored Socket.IO browser client in static/vendor/.
#
# Usage: scripts/update-socketio-client.sh [VERSION]   (default: latest)
#
# Fetches the npm package socket.io-client with `npm pack` (no install, no
# build), and copies its unmodified dist/socket.io.min.js (+ .map), its
# LICENSE and the exact version into static/vendor/. Commit the result.
set -euo pipefail

version="${1:-latest}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
tarball="$(npm pack --silent "socket.io-client@${version}" | tail -n 1)"
tar -xzf "$tarball"

pkg="$tmp/package"
resolved="$(node -p "require('$pkg/package.json').version")"

mkdir -p "$dest"
cp "$pkg/dist/socket.io.min.js" "$dest/socket.io.min.js"
if [ -f "$pkg/dist/socket.io.min.js.map" ]; then
    cp "$pkg/dist/socket.io.min.js.map" "$dest/socket.io.min.js.map"
fi
cp "$pkg/LICENSE" "$dest/socket.io-client.LICENSE"
printf '%s\n' "$resolved" > "$dest/socket.io-client.VERSION"

echo "socket.io-client $resolved -> $dest"
