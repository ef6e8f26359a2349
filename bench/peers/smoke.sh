#!/usr/bin/env bash
# Smoke test of the two peer SCIM servers of the benchmark.
#
# Starts each peer in turn (scim2-server on 18101, SCIMMY on 18102), sends
# every request the benchmark uses with curl, prints the status codes, checks
# the filter and paging results, then stops the peer. Exits non-zero on the
# first failure. Installs the peers first if needed (venv at
# bench/peers/.venv, `npm ci` in bench/peers/scimmy).
#
#   bash bench/peers/smoke.sh            # both peers
#   bash bench/peers/smoke.sh scimmy     # only one (scim2-server | scimmy)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d)
PEER_PID=""
USER_SCHEMA='urn:ietf:params:scim:schemas:core:2.0:User'
GROUP_SCHEMA='urn:ietf:params:scim:schemas:core:2.0:Group'
PATCH_SCHEMA='urn:ietf:params:scim:api:messages:2.0:PatchOp'
SEED=150           # users created for the paging checks
BIG_GROUP=30000    # members of the large-body group check (~1.4 MB body)

stop_peer() {
    if [ -n "$PEER_PID" ]; then
        kill "$PEER_PID" 2>/dev/null || true
        wait "$PEER_PID" 2>/dev/null || true
        PEER_PID=""
    fi
}
cleanup() { stop_peer; rm -rf "$TMP"; }
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# json FILE EXPR: evaluate a Python expression over the JSON document `d`
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
check() { # check FILE EXPR DESCRIPTION: fail unless the expression is True
    local got
    got=$(json "$1" "$2") || fail "$3 (unreadable response: $(head -c 300 "$1"))"
    [ "$got" = "True" ] || fail "$3 (response: $(head -c 300 "$1"))"
    echo "    ok: $3"
}

# req METHOD URL [BODY_FILE] [quiet]: send a request, body in $TMP/resp; fails unless 2xx
req() {
    local method=$1 url=$2 body=${3:-} code
    local args=(-sS -o "$TMP/resp" -w '%{http_code}' -X "$method" "$url")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/scim+json' --data-binary "@$body")
    code=$(curl "${args[@]}") || fail "$method $url: curl error"
    [ "${4:-}" = quiet ] || printf '  %-6s %-70s -> %s\n' "$method" "${url#"$BASE"}" "$code"
    case $code in 2??) ;; *) fail "$method $url -> $code: $(head -c 500 "$TMP/resp")";; esac
    LAST_CODE=$code
}

wait_up() {
    local i
    for i in $(seq 1 300); do
        if curl -sf -o /dev/null "$BASE/ServiceProviderConfig"; then return 0; fi
        kill -0 "$PEER_PID" 2>/dev/null || fail "peer exited during start-up (see $TMP/peer.log: $(tail -5 "$TMP/peer.log"))"
        sleep 0.2
    done
    fail "peer did not answer on $BASE within 60 s"
}

port_free() {
    if curl -s -o /dev/null "http://127.0.0.1:$1/"; then fail "port $1 is already in use"; fi
}

run_checks() {
    local run id id2 gid i
    run="smoke$$"
    echo "  base URL: $BASE"

    # POST /Users
    cat > "$TMP/user.json" <<JSON
{"schemas":["$USER_SCHEMA"],"userName":"$run-alice","name":{"givenName":"Alice","familyName":"Smoke"},
 "emails":[{"value":"alice@example.com","type":"work","primary":true}],"active":true,"externalId":"ext-$run-alice"}
JSON
    req POST "$BASE/Users" "$TMP/user.json"
    [ "$LAST_CODE" = 201 ] || fail "POST /Users: expected 201, got $LAST_CODE"
    check "$TMP/resp" "bool(d.get('id')) and d['userName'] == '$run-alice'" "created user has an id"
    id=$(json "$TMP/resp" "d['id']")

    # GET /Users?filter=userName eq "x"
    req GET "$BASE/Users?filter=userName%20eq%20%22$run-alice%22"
    check "$TMP/resp" "d['totalResults'] == 1 and len(d['Resources']) == 1 and d['Resources'][0]['id'] == '$id'" \
        "filter userName eq finds exactly the user"
    req GET "$BASE/Users?filter=userName%20eq%20%22$run-nobody%22"
    check "$TMP/resp" "d['totalResults'] == 0 and not d.get('Resources')" "filter on an unknown userName finds nothing"

    # GET /Users/{id}
    req GET "$BASE/Users/$id"
    check "$TMP/resp" "d['id'] == '$id' and d['name']['givenName'] == 'Alice' and d['emails'][0]['value'] == 'alice@example.com'" \
        "GET by id returns the user"

    if [ -n "${NATIVE_BASE:-}" ]; then
        req GET "$NATIVE_BASE/Users/$id"
        check "$TMP/resp" "d['id'] == '$id'" "also served at its native base URL $NATIVE_BASE"
    fi

    # Seed users for paging
    printf '  POST   %-70s    (x%d)\n' "/Users" $((SEED - 1))
    : > "$TMP/ids"
    echo "$id" >> "$TMP/ids"
    for i in $(seq 2 "$SEED"); do
        printf '{"schemas":["%s"],"userName":"%s-u%03d","active":true}' "$USER_SCHEMA" "$run" "$i" > "$TMP/u.json"
        req POST "$BASE/Users" "$TMP/u.json" quiet
        json "$TMP/resp" "d['id']" >> "$TMP/ids"
    done

    # GET /Users?startIndex=N&count=100
    req GET "$BASE/Users?startIndex=1&count=100";   cp "$TMP/resp" "$TMP/p1"
    check "$TMP/p1" "d['totalResults'] == $SEED and d['startIndex'] == 1 and len(d['Resources']) == 100" \
        "page 1: 100 of $SEED"
    req GET "$BASE/Users?startIndex=101&count=100"; cp "$TMP/resp" "$TMP/p2"
    check "$TMP/p2" "d['totalResults'] == $SEED and d['startIndex'] == 101 and len(d['Resources']) == $((SEED - 100))" \
        "page 2: the last $((SEED - 100)) of $SEED"
    req GET "$BASE/Users?startIndex=51&count=100";  cp "$TMP/resp" "$TMP/p3"
    check "$TMP/p3" "d['totalResults'] == $SEED and d['startIndex'] == 51 and len(d['Resources']) == 100" \
        "page at startIndex=51: 100 of $SEED"
    python3 - "$TMP/p1" "$TMP/p2" "$TMP/p3" "$TMP/ids" <<'PY' || fail "pages are not a partition of the users"
import json, sys
p1, p2, p3 = ([r["id"] for r in json.load(open(f))["Resources"]] for f in sys.argv[1:4])
ids = set(open(sys.argv[4]).read().split())
assert len(set(p1 + p2)) == len(ids) and set(p1 + p2) == ids, "pages 1+2 != all users"
assert p3 == (p1 + p2)[50:150], "startIndex=51 page is not users 51..150"
PY
    echo "    ok: pages 1 and 2 hold every user once; startIndex=51 is users 51..150"

    # PATCH /Users/{id}
    printf '{"schemas":["%s"],"Operations":[{"op":"replace","value":{"active":false}}]}' "$PATCH_SCHEMA" > "$TMP/patch.json"
    req PATCH "$BASE/Users/$id" "$TMP/patch.json"
    req GET "$BASE/Users/$id"
    check "$TMP/resp" "d['active'] is False" "user is inactive after PATCH"

    # POST /Groups
    id2=$(sed -n 2p "$TMP/ids")
    printf '{"schemas":["%s"],"displayName":"%s-group","members":[{"value":"%s"}]}' "$GROUP_SCHEMA" "$run" "$id" > "$TMP/group.json"
    req POST "$BASE/Groups" "$TMP/group.json"
    [ "$LAST_CODE" = 201 ] || fail "POST /Groups: expected 201, got $LAST_CODE"
    gid=$(json "$TMP/resp" "d['id']")

    # PATCH /Groups/{id} add members
    printf '{"schemas":["%s"],"Operations":[{"op":"add","path":"members","value":[{"value":"%s"}]}]}' "$PATCH_SCHEMA" "$id2" > "$TMP/gpatch.json"
    req PATCH "$BASE/Groups/$gid" "$TMP/gpatch.json"
    req GET "$BASE/Groups/$gid"
    check "$TMP/resp" "sorted(m['value'] for m in d['members']) == sorted(['$id', '$id2'])" "group has both members after PATCH add"

    # GET /Groups
    req GET "$BASE/Groups"
    check "$TMP/resp" "d['totalResults'] >= 1 and '$gid' in [g['id'] for g in d['Resources']]" "GET /Groups lists the group"

    # Large body: a group with many members (beyond 1 MB)
    python3 - "$TMP/ids" "$TMP/big.json" "$BIG_GROUP" "$GROUP_SCHEMA" "$run" <<'PY'
import json, sys
ids = open(sys.argv[1]).read().split()
n = int(sys.argv[3])
members = [{"value": ids[i % len(ids)] if i < len(ids) else "%032x" % i} for i in range(n)]
json.dump({"schemas": [sys.argv[4]], "displayName": sys.argv[5] + "-big", "members": members}, open(sys.argv[2], "w"))
PY
    req POST "$BASE/Groups" "$TMP/big.json"
    check "$TMP/resp" "len(d['members']) == $BIG_GROUP" "large group ($(du -k "$TMP/big.json" | cut -f1) KiB body) keeps its $BIG_GROUP members"
}

start_scim2_server() {
    BASE="http://127.0.0.1:18101/scim/v2"
    port_free 18101
    NATIVE_BASE="http://127.0.0.1:18101/v2"
    "$HERE/scim2-server/run.sh" --install-only
    PORT=18101 "$HERE/scim2-server/run.sh" > "$TMP/peer.log" 2>&1 &
    PEER_PID=$!
}

start_scimmy() {
    BASE="http://127.0.0.1:18102/scim/v2"
    NATIVE_BASE=""
    port_free 18102
    if [ ! -d "$HERE/scimmy/node_modules" ]; then
        (cd "$HERE/scimmy" && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
    (cd "$HERE/scimmy" && PORT=18102 exec node server.js) > "$TMP/peer.log" 2>&1 &
    PEER_PID=$!
}

peers=("$@")
[ ${#peers[@]} -gt 0 ] || peers=(scim2-server scimmy)
for peer in "${peers[@]}"; do
    echo "== $peer"
    case $peer in
        scim2-server) start_scim2_server ;;
        scimmy) start_scimmy ;;
        *) fail "unknown peer $peer" ;;
    esac
    wait_up
    run_checks
    stop_peer
    echo "== $peer: all checks passed"
done
echo "smoke: ${#peers[@]} passed, 0 failed"
