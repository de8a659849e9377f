#!/usr/bin/env bash
# Installs the Debian packages squall's tests and `make proto` use, when missing:
# redis-server, ZooKeeper, kcat, protoc, and chromium with a CJK font for the
# dashboard's browser test. Needs root (or sudo) and apt.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
command -v kcat >/dev/null || missing+=(kcat)
command -v protoc >/dev/null || missing+=(protobuf-compiler)
# protoc finds the well-known types (Timestamp, Any) in libprotobuf-dev.
[ -f /usr/include/google/protobuf/timestamp.proto ] || missing+=(libprotobuf-dev)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null ||
	command -v google-chrome >/dev/null || missing+=(chromium)
# Without a CJK font the dashboard's Chinese renders as empty boxes in the
# browser test's screenshot.
if ! command -v fc-list >/dev/null || [ -z "$(fc-list :lang=zh)" ]; then
	missing+=(fonts-noto-cjk)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
