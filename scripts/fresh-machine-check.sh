#!/usr/bin/env bash
# Proves the README's two commands on a bare machine: purges every Debian package amtflow's scripts
# install (scripts/debian-packages.list) and the built Temporal CLI and server, then, from a fresh clone of this
# checkout's HEAD, runs `npm test`, then `npm start` until the demo devices have settled, and stops it
# with Ctrl-C (SIGINT to its process group, as a terminal sends it). Prints the time of each step and
# exits non-zero if any step fails. Run it as root, at a quiet moment: the purge takes Samba and
# PostgreSQL (with every cluster's data) away from everything else on the machine.
#
#   scripts/fresh-machine-check.sh [options] [-- <jest arguments for npm test>]
#     --dry-run      print what would be purged and done, change nothing
#     --skip-purge   keep the Debian packages; every other step runs (the Temporal CLI and server are still rebuilt)
#     --start-first  run npm start before npm test (the first-start time on a bare machine)
#     --cold-go      empty Go module and build caches for the run (the cold build of the Temporal CLI)
#     --keep         keep the clone (it is kept anyway when a step fails)
# npm test and npm start take their ports and addresses from the environment as usual
# (AMTFLOW_TEST_TEMPORAL_PORT, AMTFLOW_TEST_DC_IP, AMTFLOW_TEMPORAL_ADDRESS, AMTFLOW_DEV_DC_IP, …).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
. scripts/lib/ensure.sh

DRY_RUN=0 SKIP_PURGE=0 START_FIRST=0 COLD_GO=0 KEEP=0
JEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --skip-purge) SKIP_PURGE=1 ;;
    --start-first) START_FIRST=1 ;;
    --cold-go) COLD_GO=1 ;;
    --keep) KEEP=1 ;;
    --) shift; JEST_ARGS=("$@"); break ;;
    *) say "unknown option $1 (see the head of $0)"; exit 2 ;;
  esac
  shift
done
SETTLE_TIMEOUT=${AMTFLOW_CHECK_SETTLE_SECONDS:-1200}

ensure_node_modules
ensure_go_on_path

# ---- What goes: the listed packages (not those of the base system: Priority required or important,
# present on any Debian machine, nor one that an installed package outside the list needs — openssl,
# which ca-certificates and other services here depend on: purging it would take them along), and
# installed dependencies named after one of them (postgresql-15,
# samba-libs, …: the payload of a metapackage, which may have been installed by hand). Everything that
# only they needed goes with them (--auto-remove); apt's simulation below names it all.
mapfile -t LISTED < <(npx tsx scripts/debian-packages.ts list)
if [ ${#LISTED[@]} -eq 0 ]; then say "scripts/debian-packages.list names no package"; exit 1; fi
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
# Installed packages that depend on $1 (Depends or PreDepends), one per line.
needed_by() {
  apt-cache rdepends --installed --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "$1" 2>/dev/null | tail -n +3 | sed 's/^[ |]*//' | sort -u
}
PURGE=() KEPT=()
for pkg in "${LISTED[@]}"; do
  priority=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Priority: //p' | head -n 1)
  outside=""
  while read -r r; do
    if [ -n "$r" ] && installed "$r" && [[ " ${LISTED[*]} " != *" $r "* ]]; then outside="$r"; break; fi
  done < <(needed_by "$pkg")
  case "$priority" in
    required | important) KEPT+=("$pkg") ;;
    *) if [ -n "$outside" ]; then KEPT+=("$pkg (needed by $outside)"); else PURGE+=("$pkg"); fi ;;
  esac
done
prefixes=$(printf '%s-|' "${PURGE[@]}" | sed 's/[.+]/\\&/g')
while read -r dep; do
  if [[ "$dep" =~ ^(${prefixes%|}) ]] && installed "$dep" && [[ " ${PURGE[*]} " != *" $dep "* ]]; then PURGE+=("$dep"); fi
done < <(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "${PURGE[@]}" 2>/dev/null | grep -v '^ ' | sort -u)
PRESENT=()
for pkg in "${PURGE[@]}"; do if installed "$pkg"; then PRESENT+=("$pkg"); fi; done
GO_CACHE=$(npx tsx scripts/temporal.ts cache-dir)
BUILT=("$GO_CACHE/temporal" "$GO_CACHE/temporal-server")
HEAD=$(git rev-parse HEAD)

say "plan"
if [ "$SKIP_PURGE" = 1 ]; then
  say "  keep the Debian packages (--skip-purge)"
else
  say "  purge: apt-get purge --auto-remove ${PRESENT[*]:-(none installed)}"
  if [ ${#PRESENT[@]} -gt 0 ]; then
    say "    with them: $(apt-get -s purge --auto-remove "${PRESENT[@]}" 2>/dev/null | sed -n 's/^Purg \([^ ]*\).*/\1/p' | tr '\n' ' ')"
  fi
  if [[ " ${PRESENT[*]} " == *" postgresql-"[0-9]* ]]; then
    say "    purging the PostgreSQL server drops its clusters, with their data: $(ls -d /var/lib/postgresql/*/* 2>/dev/null | tr '\n' ' ')"
  fi
  [ ${#KEPT[@]} -eq 0 ] || say "  keep (base system): ${KEPT[*]}"
fi
say "  remove the built Temporal CLI and server: ${BUILT[*]}"
[ "$COLD_GO" = 0 ] || say "  empty Go module and build caches for the run (--cold-go)"
say "  clone $REPO at ${HEAD:0:12} into a new directory under ${TMPDIR:-/tmp}"
if [ "$START_FIRST" = 1 ]; then order="npm start (until the demo settles, then Ctrl-C), npm test"; else order="npm test, npm start (until the demo settles, then Ctrl-C)"; fi
say "  run in the clone: $order${JEST_ARGS[*]:+ (jest: ${JEST_ARGS[*]})}"
[ -z "$(git status --porcelain --untracked-files=no)" ] || say "  note: uncommitted changes here are not in the clone"
if [ "$DRY_RUN" = 1 ]; then exit 0; fi

# ---- Refusals before anything changes.
if [ "$SKIP_PURGE" = 0 ]; then
  if [ "$(id -u)" != 0 ]; then say "the purge needs root (or --skip-purge)"; exit 2; fi
  if pgrep -x samba >/dev/null; then
    say "Samba DCs are running (pids $(pgrep -x samba | tr '\n' ' ')): someone's tests or npm start use them; stop them first"
    exit 2
  fi
  clients=$(psql -h 127.0.0.1 -U postgres -Atc \
    "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()" 2>/dev/null || echo 0)
  if [ "$clients" != 0 ]; then say "PostgreSQL has $clients client connections: someone's tests use it; wait for them"; exit 2; fi
fi
if command -v temporal >/dev/null && temporal --version 2>/dev/null | grep -q "version $(node -p 'require("./temporal-config/dev-server.json").cli.version') "; then
  say "$(command -v temporal) is the pinned Temporal CLI on PATH: npm would use it instead of building one; take it off PATH"
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/amtflow-fresh-XXXXXX")
CLONE=$WORK/amtflow
# The check runs everything; a developer's skip switches do not apply.
unset AMTFLOW_TEST_NO_SAMBA AMTFLOW_TEST_NO_TEMPORAL AMTFLOW_TEST_TEMPORAL_ADDRESS AMTFLOW_CONFIG AMTFLOW_STATE_DIR
if [ "$COLD_GO" = 1 ]; then
  export GOMODCACHE=$WORK/go-mod GOCACHE=$WORK/go-build GOFLAGS=-modcacherw
fi

RESULTS=()
FAILED=0
step() {
  local name=$1 started rc=0
  shift
  say "step: $name"
  started=$(date +%s)
  "$@" || rc=$?
  local seconds=$(($(date +%s) - started))
  RESULTS+=("$(printf '%-48s %5d s  %s' "$name" "$seconds" "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
  if [ $rc != 0 ]; then FAILED=1; fi
  return $rc
}

purge() {
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --auto-remove -o DPkg::Lock::Timeout=300 "${PRESENT[@]}"
}

clone() {
  git clone -q --no-hardlinks "$REPO" "$CLONE" && git -C "$CLONE" checkout -q "$HEAD"
}

npm_test() {
  (cd "$CLONE" && npm test -- "${JEST_ARGS[@]}")
}

# npm start in a process group of its own, so that Ctrl-C can be sent as a terminal sends it: to the
# whole group (npm, bash, tsx and node each receive it).
START_PID=
start_until_settled() {
  local log=$WORK/npm-start.log deadline line
  (cd "$CLONE" && exec setsid npm start) >"$log" 2>&1 &
  START_PID=$!
  deadline=$(($(date +%s) + SETTLE_TIMEOUT))
  until line=$(grep -m 1 '"msg":"all demo devices settled"' "$log"); do
    if ! kill -0 "$START_PID" 2>/dev/null; then say "npm start exited before the demo settled; see $log"; return 1; fi
    if [ "$(date +%s)" -gt "$deadline" ]; then say "the demo did not settle within $SETTLE_TIMEOUT s; see $log"; return 1; fi
    sleep 2
  done
  # The default demo (scripts/demo.ts): 20 devices, two refused (a wrong root hash, one not
  # imported), one removed by the finale; the other 17 provisioned.
  say "all demo devices settled: $(grep -o '"counts":{[^}]*}' <<<"$line")"
  if ! [[ "$line" == *'"provisioned":17'* && "$line" == *'"refused":2'* ]]; then
    say "the demo did not end as planned (17 provisioned, 2 refused); see $log"
    return 1
  fi
}

# Ctrl-C; npm start must stop within the deadline and leave no server of its state directory running.
ctrl_c() {
  local deadline rc=0 file
  [ -n "$START_PID" ] || return 1
  kill -INT -- "-$START_PID" 2>/dev/null || true
  deadline=$(($(date +%s) + 180))
  while kill -0 "$START_PID" 2>/dev/null; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      say "npm start did not stop within 180 s of Ctrl-C; killing it"
      kill -KILL -- "-$START_PID" 2>/dev/null || true
      return 1
    fi
    sleep 1
  done
  wait "$START_PID" || rc=$?
  START_PID=
  # npm answers a Ctrl-C it received itself with 130, whatever its script did; amtflow says it stopped.
  if [ $rc != 0 ] && [ $rc != 130 ]; then say "npm start exited with $rc after Ctrl-C; see $WORK/npm-start.log"; return 1; fi
  if ! grep -q '"msg":"amtflow stopped"' "$WORK/npm-start.log"; then say "amtflow did not log that it stopped; see $WORK/npm-start.log"; return 1; fi
  for file in "$CLONE/.state/temporal/temporal.pid" "$CLONE/.state/samba/samba.pid"; do
    if [ -f "$file" ]; then say "$file remains after Ctrl-C: its server was not stopped"; return 1; fi
  done
}

run_start() {
  local rc=0
  step "npm start until the demo devices settled" start_until_settled || rc=$?
  # Stopped even when it did not settle, so that nothing is left running.
  step "Ctrl-C until npm start has stopped everything" ctrl_c || rc=$?
  return $rc
}

if [ "$SKIP_PURGE" = 0 ]; then step "purge the Debian packages" purge || true; fi
step "remove the built Temporal CLI and server" rm -rf "${BUILT[@]}" || true
if [ "$FAILED" = 0 ] && step "fresh clone" clone; then
  if [ "$START_FIRST" = 1 ]; then
    run_start || true
    step "npm test" npm_test || true
  else
    step "npm test" npm_test || true
    run_start || true
  fi
fi

say "timings (clone: $CLONE)"
for result in "${RESULTS[@]}"; do say "  $result"; done
if [ "$FAILED" = 0 ] && [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
if [ "$FAILED" != 0 ]; then say "FAILED (kept $WORK)"; exit 1; fi
say "passed"
