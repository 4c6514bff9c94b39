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

# The Debian packages of every component this command needs (scripts/debian-packages.list), installed
# when missing; not as root, one line names the missing ones and the command. Sets
# AMTFLOW_INSTALLED_PACKAGES to what it installed.
ensure_debian_packages() {
  AMTFLOW_INSTALLED_PACKAGES=$(npx tsx scripts/debian-packages.ts ensure --for "$1")
}

# PostgreSQL on 127.0.0.1:5432, the tests' second database backend: started when stopped. A cluster
# amtflow has just installed (postgresql in AMTFLOW_INSTALLED_PACKAGES) gets the access the tests
# use, postgres from 127.0.0.1 without a password; an existing cluster's configuration is never touched.
ensure_postgres() {
  local version hba
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    say "no PostgreSQL cluster under /etc/postgresql; create one: pg_createcluster --start $(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1) main"
    return 1
  fi
  if [[ " ${AMTFLOW_INSTALLED_PACKAGES:-} " == *" postgresql "* ]]; then
    hba=/etc/postgresql/$version/main/pg_hba.conf
    if ! grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
      say "letting the tests connect to the new PostgreSQL $version cluster as postgres from 127.0.0.1 ($hba)"
      sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
      if pg_isready -q -h 127.0.0.1 -p 5432; then pg_ctlcluster --skip-systemctl-redirect "$version" main reload; fi
    fi
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 0.5
  done
  say "PostgreSQL did not come up on 127.0.0.1:5432"
  return 1
}
