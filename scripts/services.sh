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

# PostgreSQL: exports SCIM_TEST_PG_URL for the store and server tests. fsync is off for tests
# (a test's data is thrown away); the benchmark turns it on (SCIM_PG_FSYNC=on).
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
        -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=${SCIM_PG_FSYNC:-off} -c max_connections=300" start >/dev/null
    _cleanup_steps+=("${as[*]} $pgbin/pg_ctl -D $pgdir/data -m fast -w stop >/dev/null")
    "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc 'CREATE DATABASE scim' >/dev/null
    export SCIM_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/scim"
    echo "PostgreSQL test server: $SCIM_TEST_PG_URL"
}

# Python tools from PyPI, in a virtual environment of our own (never the system's Python).
python_tools() {
    local venv=${SCIM_VENV:-.venv}
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" || { apt_install python3-venv && python3 -m venv "$venv"; }
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
    PYTHON="$venv/bin/python"
    export PYTHON
}

# Starts the built binary on DATABASE_URL at a free loopback port with a fresh tenant/token;
# sets SCIM_BASE and SCIM_TOKEN. The server is stopped when the shell exits.
start_server() {
    local db=$1 bin=${CARGO_TARGET_DIR:-target}/debug/scim-server port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local name="conformance-$RANDOM$RANDOM"
    "$bin" --database-url "$db" tenant create "$name" >/dev/null
    SCIM_TOKEN=$("$bin" --database-url "$db" token create --tenant "$name")
    "$bin" --database-url "$db" serve --bind "127.0.0.1:$port" 2>"$SERVICES_DIR/server-$port.log" &
    local pid=$!
    _cleanup_steps+=("kill $pid")
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    SCIM_BASE="http://127.0.0.1:$port/scim/v2"
    export SCIM_BASE SCIM_TOKEN
}

# OpenLDAP slapd for the LDAP synchronization tests: exports SCIM_TEST_LDAP_URL,
# SCIM_TEST_LDAP_BIND_DN, SCIM_TEST_LDAP_BIND_PASSWORD and SCIM_TEST_LDAP_BASE, and for TLS
# SCIM_TEST_LDAPS_URL with SCIM_TEST_LDAP_CA (a throwaway CA's PEM, for SSL_CERT_FILE; the
# server certificate names 127.0.0.1 and localhost; StartTLS works on the plain port too). The
# directory holds only its suffix entry (dc=example,dc=org); each test loads its own subtree.
# Debian's package is told not to create its default database (cn=nodomain), and apt never
# starts services here, so slapd runs from a config of our own, as root, on 127.0.0.1.
start_slapd() {
    if [ -n "${SCIM_TEST_LDAP_URL:-}" ]; then return 0; fi
    if [ ! -x /usr/sbin/slapd ] || ! command -v ldapadd >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
        fi
        apt_install slapd ldap-utils
    fi
    command -v openssl >/dev/null 2>&1 || apt_install openssl
    local port=${SCIM_TEST_LDAP_PORT:-13389} tlsport=${SCIM_TEST_LDAPS_PORT:-13636}
    local ldir="$SERVICES_DIR/ldap" base="dc=example,dc=org" admin="cn=admin,dc=example,dc=org"
    local url="ldap://127.0.0.1:$port" tlsurl="ldaps://127.0.0.1:$tlsport"
    mkdir -p "$ldir/data"
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=scim test LDAP CA" \
        -keyout "$ldir/ca.key" -out "$ldir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$ldir/server.key" -out "$ldir/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$ldir/server.ext"
    openssl x509 -req -in "$ldir/server.csr" -CA "$ldir/ca.pem" -CAkey "$ldir/ca.key" \
        -CAcreateserial -days 7 -extfile "$ldir/server.ext" -out "$ldir/server.pem" 2>/dev/null
    cat > "$ldir/slapd.conf" <<CONF
include   /etc/ldap/schema/core.schema
include   /etc/ldap/schema/cosine.schema
include   /etc/ldap/schema/inetorgperson.schema
include   /etc/ldap/schema/nis.schema
pidfile   $ldir/slapd.pid
TLSCACertificateFile  $ldir/ca.pem
TLSCertificateFile    $ldir/server.pem
TLSCertificateKeyFile $ldir/server.key
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
database  mdb
maxsize   104857600
suffix    "$base"
rootdn    "$admin"
rootpw    secret
directory $ldir/data
index     objectClass eq
index     uid,cn,member,memberUid eq
overlay   memberof
CONF
    /usr/sbin/slaptest -Q -u -f "$ldir/slapd.conf"
    /usr/sbin/slapd -f "$ldir/slapd.conf" -h "$url/ $tlsurl/"   # daemonizes
    _cleanup_steps+=("kill \$(cat $ldir/slapd.pid)")
    for _ in $(seq 1 100); do
        ldapsearch -x -H "$url" -b '' -s base >/dev/null 2>&1 && break
        sleep 0.1
    done
    printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n' "$base" |
        ldapadd -x -H "$url" -D "$admin" -w secret >/dev/null
    export SCIM_TEST_LDAP_URL=$url SCIM_TEST_LDAP_BIND_DN=$admin SCIM_TEST_LDAP_BIND_PASSWORD=secret
    export SCIM_TEST_LDAP_BASE=$base SCIM_TEST_LDAPS_URL=$tlsurl SCIM_TEST_LDAP_CA=$ldir/ca.pem
    echo "OpenLDAP test server: $SCIM_TEST_LDAP_URL and $SCIM_TEST_LDAPS_URL ($base)"
}
