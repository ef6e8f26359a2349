#!/usr/bin/env python3
"""Side-by-side HTTP benchmark: our server (SQLite, PostgreSQL) and the peers, same data, same
workloads, one table. Driven by `bench/run`, which builds, installs and starts what this needs;
this file only talks HTTP and runs wrk. Standard library only.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LUA = os.path.join(ROOT, "bench", "lua")
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Client:
    """One keep-alive connection per thread; raises on any non-2xx so seeding never hides a
    failure."""

    def __init__(self, host, port, prefix, auth):
        self.host, self.port, self.prefix, self.auth = host, port, prefix, auth
        self.local = threading.local()

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=600)
            self.local.c = c
        return c

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        headers = {"Content-Type": "application/scim+json", "Accept": "application/scim+json"}
        if self.auth:
            headers["Authorization"] = self.auth
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            c = self.conn()
            try:
                c.request(method, self.prefix + path, body=data, headers=headers)
                resp = c.getresponse()
                raw = resp.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.local.c = None
                if attempt == 2:
                    raise
        if resp.status not in ok:
            raise RuntimeError(f"{method} {path} -> {resp.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None


def user_doc(name, i):
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "User", "familyName": f"Number {i}"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"User {i}",
        "externalId": f"ext-{name}",
        "active": True,
    }


class Target:
    """A server under test: how to start it, stop it, and seed it."""

    bulk = False
    pid = None

    def __init__(self, name):
        self.name = name
        self.proc = None

    def rss_kb(self, field="VmRSS"):
        pid = self.pid or (self.proc.pid if self.proc else None)
        if not pid:
            return None
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def wait_ready(self, path):
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", path, headers=self.headers())
                if c.getresponse().status < 500:
                    return
            except OSError:
                pass
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready")

    def headers(self):
        return {"Authorization": self.auth} if self.auth else {}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def client(self):
        return Client("127.0.0.1", self.port, self.prefix, self.auth)


def store_summary(before, after, duration_us):
    """One line on the SQLite group commit between two `Ours.store_totals()` snapshots, or
    None when nothing was written (or the build predates the counters). It ends with a
    request's mean time inside the server (the middleware's latency histogram), so a write's
    latency splits three ways: in the store, in the server around it, and outside the server
    (the load generator's latency minus the server's: the kernel, wrk, waiting for a core)."""
    d = {k: v - before.get(k, 0) for k, v in after.items()}
    b, w = d.get("write_batches_total", 0), d.get("writes_total", 0)
    if not b or not w:
        return None
    f = d.get("wal_fsyncs_total", 0)
    busy = d.get("writer_busy_seconds_total", 0)
    return (f"writes {w:.0f} in {b:.0f} batches ({w / b:.1f} each), writer busy "
            f"{busy * 1e6 / duration_us * 100:.0f}% ({busy * 1e6 / b:.0f} µs/batch), fsync "
            f"{d.get('wal_fsync_seconds_total', 0) * 1e3 / f if f else 0:.2f} ms, "
            f"durable wait {d.get('durable_wait_seconds_total', 0) * 1e3 / b:.2f} ms/batch, "
            f"write {d.get('write_seconds_total', 0) * 1e3 / w:.2f} ms"
            + (f", request in the server {d['http_seconds'] * 1e3 / d['http_requests']:.2f} ms"
               if d.get("http_requests") else ""))


class Ours(Target):
    bulk = True
    # A command the binary runs under (bench/instructions: valgrind), empty for none.
    wrapper = ()

    def __init__(self, name, binary, database_url, workdir):
        super().__init__(name)
        self.binary, self.database_url, self.workdir = binary, database_url, workdir
        self.prefix = "/scim/v2"

    def store_totals(self):
        """The SQLite group commit's totals from /metrics (`scim_sqlite_*`, see
        docs/operations.md); {} on PostgreSQL or when the build predates them."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics",
                                        timeout=10) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out = {}
        for line in text.splitlines():
            if line.startswith("scim_sqlite_"):
                name, _, value = line.partition(" ")
                out[name[len("scim_sqlite_"):]] = float(value)
            elif line.startswith("scim_http_request_duration_seconds_sum{"):
                out["http_seconds"] = out.get("http_seconds", 0) + float(line.rsplit(" ", 1)[1])
            elif line.startswith("scim_http_request_duration_seconds_count{"):
                out["http_requests"] = out.get("http_requests", 0) + float(line.rsplit(" ", 1)[1])
        return out

    def start(self):
        tenant = "bench-" + uuid.uuid4().hex[:8]
        base = [self.binary, "--database-url", self.database_url]
        subprocess.run(base + ["tenant", "create", tenant], check=True, capture_output=True)
        token = subprocess.run(base + ["token", "create", "--tenant", tenant], check=True,
                               capture_output=True, text=True).stdout.strip()
        self.auth = "Bearer " + token
        self.serve()

    def serve(self):
        """Starts the binary on a free port, on the database as it is, and waits until ready."""
        self.port = free_port()
        logf = open(os.path.join(self.workdir, f"{self.name}.log"), "w")
        self.proc = subprocess.Popen(
            [*self.wrapper, self.binary, "--database-url", self.database_url, "serve", "--bind",
             f"127.0.0.1:{self.port}"], stdout=logf, stderr=logf, start_new_session=True)
        self.wait_ready("/healthz")


class Peer(Target):
    def __init__(self, name, command, prefix, auth, env):
        super().__init__(name)
        self.command, self.prefix, self.auth, self.env = command, prefix, auth, env

    def start(self):
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port), **self.env)
        logf = open(os.path.join(tempfile.gettempdir(), f"bench-{self.name}.log"), "w")
        self.proc = subprocess.Popen(self.command, env=env, stdout=logf, stderr=logf,
                                     start_new_session=True, cwd=ROOT)
        self.wait_ready(self.prefix + "/ServiceProviderConfig")
        self.pid = self.find_listener() or self.proc.pid

    def find_listener(self):
        """The process that owns the port (a launcher script may exec or fork the server)."""
        hexport = f":{self.port:04X}"
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    for line in f.readlines()[1:]:
                        parts = line.split()
                        if parts[1].endswith(hexport) and parts[3] == "0A":
                            inodes.add(parts[9])
            except OSError:
                pass
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return int(pid)
            except OSError:
                continue
        return None


def seed_users(target, names, workers):
    """Creates the users, returns their ids in the same order. Ours takes Bulk requests of
    1 000 operations; the peers take one POST each, from `workers` threads."""
    client = target.client()
    ids = [None] * len(names)
    if target.bulk:
        chunks = [range(i, min(i + 1000, len(names))) for i in range(0, len(names), 1000)]

        def send(chunk):
            ops = [{"method": "POST", "path": "/Users", "bulkId": str(i),
                    "data": user_doc(names[i], i)} for i in chunk]
            out = client.call("POST", "/Bulk", {"schemas": [BULK_SCHEMA], "Operations": ops})
            for op in out["Operations"]:
                if not str(op.get("status", "")).startswith("2"):
                    raise RuntimeError(f"bulk create failed: {op}")
                ids[int(op["bulkId"])] = op["location"].rstrip("/").rsplit("/", 1)[1]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, chunks))
    else:
        def one(i):
            ids[i] = client.call("POST", "/Users", user_doc(names[i], i))["id"]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(len(names))))
    return ids


def seed_group(target, name, member_ids):
    client = target.client()
    gid = client.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name,
                                          "members": []})["id"]
    for i in range(0, len(member_ids), 5000):
        values = [{"value": m} for m in member_ids[i:i + 5000]]
        client.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "add", "path": "members", "value": values}]})
    return gid


def seed_small_groups(target, count, user_ids, workers):
    client = target.client()

    def one(i):
        members = [{"value": user_ids[(i * 7 + k) % len(user_ids)]} for k in range(i % 6)]
        client.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA],
                                        "displayName": f"team {i}", "members": members})
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(count)))


def import_pages(target, total, budget=120.0):
    """Okta's import: one client reads every page of 100 in order; seconds end to end. Stops
    after `budget` seconds (a slow peer), returning how far it got."""
    client = target.client()
    start = time.monotonic()
    seen = 0
    index = 1
    ids = set()
    while time.monotonic() - start < budget:
        page = client.call("GET", f"/Users?startIndex={index}&count=100")
        got = [r["id"] for r in page.get("Resources", [])]
        ids.update(got)
        seen += len(got)
        if not got or seen >= total:
            break
        index += len(got)
    elapsed = time.monotonic() - start
    if len(ids) != seen:
        raise RuntimeError(f"import read {seen} users but only {len(ids)} distinct ids")
    return elapsed, seen


def drain(target, limit=180.0):
    """Waits until the target answers a cheap request promptly: a single-threaded peer still
    works through requests queued by the previous workload after wrk has left, and would
    otherwise be measured doing that."""
    client = target.client()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            client.call("GET", "/ServiceProviderConfig")
        except Exception:  # a peer that refuses this still gets measured
            return
        if time.monotonic() - t0 < 0.2:
            return
        time.sleep(0.5)


def run_wrk(target, script, connections, duration, env):
    drain(target)
    full_env = dict(os.environ, BENCH_LUA_DIR=LUA, BENCH_PREFIX=target.prefix,
                    BENCH_AUTH=target.auth or "", BENCH_NONCE=uuid.uuid4().hex[:10],
                    BENCH_THREADS=str(min(2, connections)), **env)
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
           "-s", os.path.join(LUA, script), f"http://127.0.0.1:{target.port}"]
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            r = json.loads(line[len("BENCH_RESULT "):])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            r["errors"] = sum(r[k] for k in r if k.startswith("errors_"))
            return r
    raise RuntimeError(f"wrk gave no result: {out.stdout}\n{out.stderr}")


def load_ab():
    """bench/ab as a module (its file has no .py suffix), for the tools that serve copies of
    its seeded database: bench/instructions, bench/wal-frames."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("ab", os.path.join(ROOT, "bench", "ab"))
    spec = importlib.util.spec_from_loader("ab", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def write_list(workdir, name, lines):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
