#!/usr/bin/env bash
# `npm start`: installs whatever is missing, then brings amtflow up and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_node_modules
ensure_go_on_path
# start.ts installs the Debian packages of the dev Samba DC when no directory is configured, builds
# the Temporal CLI into the machine's cache when missing, and starts (and at Ctrl-C stops) both.
exec npx tsx scripts/start.ts "$@"
