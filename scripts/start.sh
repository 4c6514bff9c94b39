#!/usr/bin/env bash
# `npm start`: installs whatever is missing, then brings amtflow up and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_node_modules
ensure_go_on_path
ensure_samba start
exec npx tsx scripts/start.ts "$@"
