# Shared by scripts/start.sh and scripts/test.sh: install or start what amtflow needs on a fresh
# machine. Each function is idempotent and quiet when there is nothing to do.

say() { printf '[amtflow] %s\n' "$*" >&2; }

# npm packages: `npm install` with the lock present (npm ci can reject a lock made against this
# registry); skipped when node_modules already matches the lock.
ensure_node_modules() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages"
    npm install --no-audit --no-fund --loglevel=error
  fi
}

# Go lives in /usr/local/go on these machines; make it visible so the Temporal CLI can be built.
ensure_go_on_path() {
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="$PATH:/usr/local/go/bin"
  fi
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: $* (run as root, or install them: apt-get install $*)"
    return 1
  fi
  if [ -z "${AMTFLOW_APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null
    export AMTFLOW_APT_UPDATED=1
  fi
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL on 127.0.0.1:5432 for the tests' second database backend.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then apt_install postgresql; fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 0.5
  done
  say "PostgreSQL did not come up on 127.0.0.1:5432"
  return 1
}

# The dev/test Samba AD DC (scripts/samba-dc.ts keeps the package list): installs Debian's samba,
# winbind, krb5-user and ldb-tools when missing; `ensure_samba start` also provisions (first time)
# and starts the dev DC of the configuration. The tests' own DC is started by jest's global setup.
ensure_samba() {
  if [ "${AMTFLOW_TEST_NO_SAMBA:-}" = 1 ] && [ "${1:-install}" = install ]; then return 0; fi
  npx tsx scripts/samba.ts "${1:-install}"
}
