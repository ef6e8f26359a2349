"""Runs the third-party SCIM conformance checker `scim2-tester` against a running server.

Usage: python scripts/conformance.py BASE_URL TOKEN
Prints every check with its status and exits non-zero when any check fails or errors, so
`.ci/run` fails on a failed check. Known differences with the RFC are listed in
docs/conformance.md; none is silenced here.
"""
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    counts: dict[str, int] = {}
    for r in results:
        status = r.status.name if hasattr(r.status, "name") else str(r.status)
        counts[status] = counts.get(status, 0) + 1
        line = f"{status:8s} {r.title}"
        if r.status not in (Status.SUCCESS, Status.SKIPPED):
            line += f" -- {r.reason}"
        print(line)
    failed = sum(n for s, n in counts.items() if s not in ("SUCCESS", "SKIPPED"))
    summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    print(f"{len(results)} checks ({summary})")
    print(f"scim2-tester: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
