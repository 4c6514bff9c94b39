#!/usr/bin/env bash
# `npm test`: installs whatever is missing, starts what the tests need, runs every test.
# Extra arguments go to jest (e.g. `npm test -- tests/unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/ensure.sh

ensure_node_modules
ensure_go_on_path
ensure_debian_packages test
ensure_postgres
npx tsx scripts/temporal.ts install >/dev/null
# The production Temporal server of tests/integration/cluster is built once per machine (a check of
# its manifest when cached). On a new machine the build overlaps type-checking, linting and the
# first test files, and the test waits for it; a run that ends first stops it (Go keeps its
# compiled packages, so the next build resumes from there).
mkdir -p .state
setsid npx tsx scripts/temporal-cluster.ts install >.state/cluster-install.log 2>&1 &
cluster_install=$!
trap 'kill -- -$cluster_install 2>/dev/null || true' EXIT

say "type-checking and linting"
npx tsc --noEmit -p tsconfig.json
npx eslint --max-warnings 0 .

export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-vm-modules --no-warnings=ExperimentalWarning"
# Extra arguments: those files (or jest options), one file at a time. Otherwise two phases: the
# unit and integration files two at a time — the machine's cores wait on the servers about half of
# the time when one file runs — then the files that cannot share the servers with another file
# (jest.config.js ALONE: the DC's USN checks, the DC outage, the production task queue, the start
# tests' ports), one at a time. Each phase starts and stops the servers it uses.
# --forceExit: a process a failed test left behind must not hold the run open until CI's limit;
# the tests end what they start (tests/integration/start/support.ts StartRun.killAll).
if [ $# -gt 0 ]; then
  npx jest --maxWorkers=1 --forceExit "$@"
  exit
fi
status=0
npx jest --maxWorkers=2 --forceExit --selectProjects unit integration || status=$?
npx jest --maxWorkers=1 --forceExit --selectProjects integration-alone || status=$?
exit $status
