#!/usr/bin/env python3
"""Runs every workload against every target and prints one Markdown table (see BENCHMARKS.md).

Usage (normally through `bench/run`, which builds and installs what is needed):
  bench/bench.py --binary target/release/scim-server [--postgres-url URL] [--peers a,b]
                 [--duration 10] [--connections 16,32] [--users 100000] [--big]
"""

import argparse
import json
import shutil
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ROOT, Ours, Peer, import_pages, log, run_wrk, seed_group,  # noqa: E402
                     seed_small_groups, seed_users, store_summary, write_list)

PEERS = {
    # Each peer's start command, SCIM prefix and auth header (see bench/peers/README.md).
    "scim2-server": dict(command=["bash", "bench/peers/scim2-server/run.sh"], prefix="/scim/v2",
                         auth="", env={}),
    "scimmy": dict(command=["node", "bench/peers/scimmy/server.js"], prefix="/scim/v2",
                   auth="Bearer bench", env={}),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "scim-server"))
    ap.add_argument("--postgres-url")
    ap.add_argument("--peers", default="scim2-server,scimmy")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", default="16,32")
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--big", action="store_true",
                    help="also fill a 1 000 000-member group (ours on SQLite only)")
    ap.add_argument("--only", help="comma-separated target names to run")
    ap.add_argument("--json", default=os.path.join(tempfile.gettempdir(), "bench-latest.json"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (databases, server logs) after the run")
    args = ap.parse_args()
    conns = [int(c) for c in args.connections.split(",")]
    workdir = tempfile.mkdtemp(prefix="scim-bench-")

    targets = [Ours("ours-sqlite", args.binary, f"sqlite://{workdir}/bench.db", workdir)]
    if args.postgres_url:
        targets.append(Ours("ours-postgres", args.binary, args.postgres_url, workdir))
    for name in filter(None, args.peers.split(",")):
        p = PEERS[name]
        targets.append(Peer(name, p["command"], p["prefix"], p["auth"], p["env"]))
    if args.only:
        keep = set(args.only.split(","))
        targets = [t for t in targets if t.name in keep]

    results = {}
    for target in targets:
        log(f"== {target.name}")
        target.start()
        try:
            results[target.name] = {}
            run_target(target, args, conns, workdir, results[target.name])
        except Exception as e:  # a peer that fails a workload still gets a row
            log(f"{target.name} failed: {e}")
            results.setdefault(target.name, {})["failed"] = str(e)
        finally:
            results[target.name]["peak_rss_mb"] = (target.rss_kb("VmHWM") or 0) / 1024
            target.stop()
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print_table(results, [t.name for t in targets])
    # A --big run leaves ~4 GB of databases and access logs; three runs filled the disk.
    if args.keep:
        log(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def run_target(target, args, conns, workdir, out):

    def wrk(key, script, c, env, duration=None):
        ours = isinstance(target, Ours)
        before = target.store_totals() if ours else {}
        r = run_wrk(target, script, c, duration or args.duration, env)
        r["rss_mb"] = (target.rss_kb() or 0) / 1024
        store = store_summary(before, target.store_totals(), r["duration_us"]) if ours else None
        if store:
            r["store"] = store
        out[f"{key}|{c}"] = r
        log(f"{key} c={c}: {r['rps']:.0f}/s p50 {r['p50_us']/1000:.2f} ms "
            f"p99 {r['p99_us']/1000:.2f} ms errors {r['errors']} rss {r['rss_mb']:.0f} MB"
            + (f"\n    store: {store}" if store else ""))

    n = args.users
    names = [f"user{i}@bench.example.com" for i in range(n)]
    t0 = time.monotonic()
    ids = seed_users(target, names, 16)
    out["seed_users_per_s"] = n / (time.monotonic() - t0)
    log(f"seeded {n} users at {out['seed_users_per_s']:.0f}/s")
    names_file = write_list(workdir, f"{target.name}-names", names)
    ids_file = write_list(workdir, f"{target.name}-ids", ids)
    pairs_file = write_list(workdir, f"{target.name}-pairs",
                            [f"{i} {u}" for i, u in zip(ids, names)])

    secs, seen = import_pages(target, n)
    out["import"] = {"seconds": secs, "users": seen, "complete": seen >= n}
    log(f"import of {seen} users in pages of 100: {secs:.2f} s")

    for c in conns:
        wrk("lookup userName eq", "lookup_username.lua", c, {"BENCH_LIST": names_file})
        wrk("GET by id", "get_by_id.lua", c, {"BENCH_LIST": ids_file})
        wrk("list page of 100", "list_pages.lua", c, {"BENCH_TOTAL": str(n)})
    for c in conns:
        wrk("create user", "create_users.lua", c, {})
        wrk("deactivate (pathless PATCH)", "deactivate.lua", c, {"BENCH_LIST": ids_file})
        wrk("Okta-like mix", "okta_mixed.lua", c,
            {"BENCH_LIST": pairs_file, "BENCH_TOTAL": str(n)})

    pool_names = [f"pool{i}@bench.example.com" for i in range(args.pool)]
    pool_file = write_list(workdir, f"{target.name}-pool",
                           seed_users(target, pool_names, 16))
    groups = {}
    for size in (1_000, 100_000):
        if size <= n:
            t0 = time.monotonic()
            groups[size] = seed_group(target, f"big {size}", ids[:size])
            log(f"group of {size} filled in {time.monotonic() - t0:.1f} s")
    if args.big and target.name == "ours-sqlite":
        groups[1_000_000] = seed_group(target, "big 1000000", [])
    t0 = time.monotonic()
    seed_small_groups(target, args.groups - len(groups), ids, 16)
    log(f"{args.groups - len(groups)} small groups in {time.monotonic() - t0:.1f} s")

    for size, gid in sorted(groups.items()):
        if size == 1_000_000:
            continue
        for c in (1, conns[0]):
            wrk(f"add/remove member, group of {size}", "group_member.lua", c,
                {"BENCH_LIST": pool_file, "BENCH_GROUP": gid})
    for c in (1, conns[0]):
        wrk("GET /Groups (default)", "list_groups.lua", c, {})

    if 1_000_000 in groups:
        more = [f"more{i}@bench.example.com" for i in range(1_000_000 - n)]
        t0 = time.monotonic()
        more_ids = seed_users(target, more, 16)
        log(f"seeded {len(more)} more users in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        client = target.client()
        for i in range(0, 1_000_000, 5000):
            chunk = (ids + more_ids)[i:i + 5000]
            client.call("PATCH", f"/Groups/{groups[1_000_000]}", {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members",
                                "value": [{"value": m} for m in chunk]}]})
        log(f"group of 1000000 filled in {time.monotonic() - t0:.1f} s")
        for c in (1, conns[0]):
            wrk("add/remove member, group of 1000000", "group_member.lua", c,
                {"BENCH_LIST": pool_file, "BENCH_GROUP": groups[1_000_000]})
        for c in (1, conns[0]):
            wrk("GET /Groups (default), with the 1M group", "list_groups.lua", c, {})
        wrk("GET by id at 1M users", "get_by_id.lua", conns[-1], {"BENCH_LIST": ids_file})
        wrk("lookup userName eq at 1M users", "lookup_username.lua", conns[-1],
            {"BENCH_LIST": names_file})


def print_table(results, names):
    ours = names[0]
    keys = []
    for name in names:
        for k in results.get(name, {}):
            if "|" in k and k not in keys:
                keys.append(k)
    head = ["workload", "conns"]
    for name in names:
        head += [f"{name} req/s", "p50 ms", "p99 ms", "errors"]
        if name != ours:
            head.append(f"{ours} ÷ {name}")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for k in keys:
        workload, c = k.split("|")
        row = [workload, c]
        mine = results.get(ours, {}).get(k)
        for name in names:
            r = results.get(name, {}).get(k)
            if r and r["requests"] == 0:
                # wrk counts only requests that finished before the run ended; latencies of
                # none would print as 0.00, which reads as instant.
                row += ["0", "none done", "none done", str(r["errors"])]
            elif r:
                row += [f"{r['rps']:.0f}", f"{r['p50_us']/1000:.2f}", f"{r['p99_us']/1000:.2f}",
                        str(r["errors"])]
            else:
                row += ["—"] * 4
            if name != ours:
                ok = r and mine and r["rps"] > 0 and r["errors"] < r["requests"]
                row.append(f"{mine['rps'] / r['rps']:.1f}×" if ok else "—")
        print("| " + " | ".join(row) + " |")
    print()
    for name in names:
        r = results.get(name, {})
        imp = r.get("import", {})
        line = f"- {name}: seeded users at {r.get('seed_users_per_s', 0):.0f}/s"
        if imp:
            done = "" if imp.get("complete") else " (stopped: time budget)"
            line += (f"; import of {imp['users']} users in pages of 100: "
                     f"{imp['seconds']:.2f} s{done}")
        line += f"; peak RSS {r.get('peak_rss_mb', 0):.0f} MB"
        if "failed" in r:
            line += f"; FAILED: {r['failed']}"
        print(line)


if __name__ == "__main__":
    main()
