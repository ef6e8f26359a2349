# Sourced by scripts/test-all: installs (when missing) and starts the servers the tests use,
# each a throwaway instance on 127.0.0.1 that is stopped when the calling shell exits.
# Commands come from shared/dependencies.md, where they were checked on this kind of machine.

SERVICES_DIR=${SERVICES_DIR:-$(mktemp -d /tmp/scim-services.XXXXXX)}
chmod 755 "$SERVICES_DIR"  # the postgres user must reach its data directory inside
_cleanup_steps=()
services_cleanup() {
    local step
    for step in "${_cleanup_steps[@]}"; do eval "$step" || true; done
}
trap services_cleanup EXIT

_apt_updated=0
apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "need root to apt-get install $*; install them or set the service URL variables" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ "$_apt_updated" = 0 ]; then apt-get update -qq; _apt_updated=1; fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL: exports SCIM_TEST_PG_URL for the store and server tests.
start_postgres() {
    if [ -n "${SCIM_TEST_PG_URL:-}" ]; then return 0; fi
    if ! ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        apt_install postgresql
    fi
    local pgbin pgdir port=${SCIM_TEST_PG_PORT:-25432}
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    pgdir="$SERVICES_DIR/pg"
    mkdir -p "$pgdir"
    local as=()
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pgdir"; as=(runuser -u postgres --); fi
    "${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
    "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 30 \
        -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
    _cleanup_steps+=("${as[*]} $pgbin/pg_ctl -D $pgdir/data -m fast -w stop >/dev/null")
    "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc 'CREATE DATABASE scim' >/dev/null
    export SCIM_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/scim"
    echo "PostgreSQL test server: $SCIM_TEST_PG_URL"
}
