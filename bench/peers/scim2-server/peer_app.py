"""scim2-server peer application for the SCIM benchmark.

Builds the scim2-server applications the way its "Deploy the server" guide
does, over its in-memory storage and its default provider (the RFC 7643
schemas, the User and Group resource types, every feature but cursor
pagination announced):

- ``asgi_app``: the ASGI application over ``AsyncInMemoryStorage`` (served by
  run.sh with uvicorn, one worker);
- ``wsgi_app``: the WSGI application over ``InMemoryStorage`` (for gunicorn,
  one worker; see README).

``app`` (what run.sh serves) and ``wsgi_mounted`` are the same applications,
also mounted under ``/scim`` (env SCIM_MOUNT, "" to disable), so that the
base URL can be ``http://HOST:PORT/scim/v2`` like the other targets of the
benchmark. scim2-server's own URLs stay served too: its endpoints are under
``/v2``, a prefix it makes optional (``/Users`` works as well). The resource
locations it returns use whichever prefix the request came with.

Every request is accepted, unless the SCIM_TOKEN environment
variable is set: then requests need ``Authorization: Bearer $SCIM_TOKEN``,
like ``scim2-server --bearer-token``.

With the in-memory storage every worker process holds its own resources, so
serve these applications with a single worker process.
"""

import os

from scim2_models import UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.memory import InMemoryStorage
from scim2_server.utils import load_default_provider

TOKEN = os.environ.get("SCIM_TOKEN")
MOUNT = os.environ.get("SCIM_MOUNT", "/scim").rstrip("/")


def _check_bearer(request) -> None:
    if TOKEN is None:
        return
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or token != TOKEN:
        raise UnauthorizedException


class PeerASGIApplication(ASGIApplication):
    def check_auth(self, request) -> None:
        _check_bearer(request)


class PeerWSGIApplication(WSGIApplication):
    def check_auth(self, request) -> None:
        _check_bearer(request)


provider = load_default_provider()
asgi_app = PeerASGIApplication(AsyncInMemoryStorage(), provider)
wsgi_app = PeerWSGIApplication(InMemoryStorage(), provider)


def _under_mount(path: str) -> bool:
    return bool(MOUNT) and (path == MOUNT or path.startswith(MOUNT + "/"))


class ASGIMount:
    """Serve an ASGI application under the MOUNT prefix too.

    A request under the prefix gets the prefix as ``root_path`` (its ASGI
    ``path`` keeps the prefix, as the spec says); scim2-server's
    ASGIApplication strips the root path and builds its URLs with it.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _under_mount(scope["path"]):
            scope = dict(scope, root_path=scope.get("root_path", "") + MOUNT)
        await self.application(scope, receive, send)


class WSGIMount:
    """Serve a WSGI application under the MOUNT prefix too (moved to SCRIPT_NAME)."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if _under_mount(path):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + MOUNT
            environ["PATH_INFO"] = path[len(MOUNT):]
        return self.application(environ, start_response)


app = ASGIMount(asgi_app)
wsgi_mounted = WSGIMount(wsgi_app)
