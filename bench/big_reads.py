#!/usr/bin/env python3
"""Seeds N users into a fresh SQLite database with one binary (Bulk, 4 requests at a time, as
bench.py seeds ours), then runs wrk's GET by id at 32 connections twice for 8 s, printing the
seeding time, the WAL size and each run's rate. For telling whether a binary reads slower at a
given size, apart from the rest of bench.py's sequence:

    bench/big_reads.py target/release/scim-server /tmp/big 1000000
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import Ours, seed_users  # noqa: E402

binary, workdir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(workdir, exist_ok=True)
target = Ours("ours", binary, f"sqlite://{workdir}/bench.db", workdir)
target.start()
names = [f"user{i}@bench.example.com" for i in range(n)]
t0 = time.monotonic()
ids = seed_users(target, names, 16)
print(f"seeded {n} in {time.monotonic() - t0:.1f} s", flush=True)
with open(f"{workdir}/ids", "w") as f:
    f.write("\n".join(ids) + "\n")


def wal_mb():
    try:
        return os.path.getsize(f"{workdir}/bench.db-wal") // (1024 * 1024)
    except OSError:
        return -1


print("WAL MB after seeding:", wal_mb(), flush=True)
env = dict(os.environ, BENCH_AUTH=target.auth, BENCH_LUA_DIR=f"{HERE}/lua",
           BENCH_PREFIX="/scim/v2", BENCH_TOTAL=str(n), BENCH_LIST=f"{workdir}/ids")
for _ in range(2):
    out = subprocess.run(["wrk", "-t2", "-c32", "-d8s", "-s", f"{HERE}/lua/get_by_id.lua",
                          f"http://127.0.0.1:{target.port}"],
                         env=env, capture_output=True, text=True).stdout
    rate = [line.split()[1] for line in out.splitlines() if "Requests/sec" in line]
    print("GET by id c=32:", rate, "WAL MB:", wal_mb(), flush=True)
target.stop()
