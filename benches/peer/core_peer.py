"""Peer figures for BENCHMARKS.md: the same core operations in the Python SCIM libraries that
the reference server scim2-server builds on (scim2-filter-parser, scim2-models).

Run: python3 -m venv .venv && .venv/bin/pip install scim2-filter-parser scim2-models
     .venv/bin/python benches/peer/core_peer.py
"""
import timeit

from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser
from scim2_models import PatchOp, User

OKTA_FILTER = 'userName eq "isaac.brock@example.com"'
ENTRA_FILTER = ('emails[type eq "work" and value co "@example.com"] and '
                '(active eq true or meta.lastModified gt "2011-05-13T04:42:34Z")')


def parse(text):
    return SCIMParser().parse(SCIMLexer().tokenize(text))


def user():
    return User.model_validate({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "00u1abcd2EFGHijk3l4",
        "userName": "isaac.brock@example.com",
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": True, "value": "isaac.brock@example.com", "type": "work"}],
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "active": True,
    })


DEACTIVATE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "active", "value": False}],
}


def patch():
    u = user()
    PatchOp[User].model_validate(DEACTIVATE).patch(u)
    return u


def bench(name, fn, number):
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number
    print(f"{name:45s} {best * 1e6:10.2f} µs")


if __name__ == "__main__":
    assert patch().active is False
    bench("filter/parse okta userName eq", lambda: parse(OKTA_FILTER), 2000)
    bench("filter/parse entra complex", lambda: parse(ENTRA_FILTER), 500)
    bench("resource/validate okta user (model_validate)", user, 2000)
    bench("patch/okta deactivate (validate user + patch)", patch, 2000)
