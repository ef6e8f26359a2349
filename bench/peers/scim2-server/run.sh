#!/usr/bin/env bash
# Start the scim2-server peer (Python reference SCIM server, PyPI scim2-server).
#
#   PORT=18101 bench/peers/scim2-server/run.sh        # serve (foreground; exec's uvicorn)
#   bench/peers/scim2-server/run.sh --install-only    # only create/update the venv
#
# Base URL: http://127.0.0.1:$PORT/scim/v2   (e.g. http://127.0.0.1:18101/scim/v2/Users)
#           scim2-server's native URLs work too: http://127.0.0.1:$PORT/v2
#           (and /Users: it makes /v2 optional). The /scim mount is done in
#           peer_app.py (env SCIM_MOUNT, "" to disable).
# Auth:     none (every request accepted). With SCIM_TOKEN set, requests need
#           "Authorization: Bearer $SCIM_TOKEN".
# Storage:  scim2-server's in-memory storage (lost when the process stops).
# Schemas:  the RFC 7643 defaults: User (+ EnterpriseUser extension) and Group
#           resource types, loaded by default, no flag needed.
# Server:   uvicorn (uvloop + httptools), one worker process, serving the
#           scim2-server ASGI application over AsyncInMemoryStorage, as in
#           scim2-server's "Deploy the server" guide. One worker only: the
#           in-memory storage lives in the worker process.
#
# The venv is bench/peers/.venv (override with PEER_VENV); requirements.txt is
# installed into it when the venv is new or requirements.txt changed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${PEER_VENV:-$(cd "$HERE/.." && pwd)/.venv}
PORT=${PORT:-18101}
HOST=${HOST:-127.0.0.1}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.scim2-server-requirements.sha256"
want=$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" >&2
    echo "$want" > "$stamp"
fi

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi

echo "scim2-server peer: serving SCIM on http://$HOST:$PORT${SCIM_MOUNT-/scim}/v2" >&2
exec "$VENV/bin/uvicorn" --app-dir "$HERE" --host "$HOST" --port "$PORT" \
    --loop uvloop --http httptools --no-access-log --log-level warning \
    peer_app:app
