#!/usr/bin/env bash
# `npm start`: installs whatever is missing, then brings amtflow up and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_node_modules
ensure_go_on_path
# start.ts starts (and on Ctrl-C stops) the dev Samba DC when no directory is configured.
exec npx tsx scripts/start.ts "$@"
