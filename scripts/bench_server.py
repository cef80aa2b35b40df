#!/usr/bin/env python3
"""Server benchmark: a run through the API against the command line, /health latency under
load, and peak memory during concurrent big runs.

Starts its own `target/release/scenarioforge serve` (a fresh process, so its peak RSS is this
benchmark's) on a private port against DATABASE_URL, and measures:

1. wide50 at 1M iterations: POST /api/runs until the `done` event (run completed, summary and
   sample rows stored) against `scenarioforge run` of the same model, alternately, --runs times;
2. GET /health latency (p50, p99) while MAX_CONCURRENT_RUNS 10M-iteration runs keep every core
   busy;
3. the server's peak RSS (VmHWM) during four concurrent 10M-iteration runs.

usage: scripts/bench_server.py [--runs N] [--model ../shared/bench/wide50.json]
needs: DATABASE_URL (scripts/bench_server.sh sets it) and a release build
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "scenarioforge")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, env):
        self.port = free_port()
        env = dict(os.environ, BIND_ADDR=f"127.0.0.1:{self.port}", RUST_LOG="warn", **env)
        self.proc = subprocess.Popen([BIN, "serve"], env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit("the server did not start")

    def request(self, method, path, body=None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        headers = {"content-type": "application/json"} if body is not None else {}
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if own:
            conn.close()
        return r.status, json.loads(data) if data else None

    def create(self, model, settings):
        status, body = self.request("POST", "/api/runs", {"model": model, "settings": settings})
        assert status == 202, body
        return body["id"]

    def wait_done(self, run_id):
        """Follows the run's events until `done`; returns its data."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("GET", f"/api/runs/{run_id}/events")
        r = conn.getresponse()
        event = None
        while True:
            line = r.fp.readline()
            if not line:
                sys.exit("event stream ended without done")
            line = line.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "done":
                conn.close()
                return json.loads(line.split(":", 1)[1])

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--model", default=os.path.join(ROOT, "..", "shared", "bench", "wide50.json"))
    ap.add_argument("--health-requests", type=int, default=1000)
    args = ap.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL is not set (scripts/bench_server.sh starts the private PostgreSQL)")
    model = json.load(open(args.model))
    cores = os.cpu_count() or 1

    # 1. API end to end against the command line, alternately.
    server = Server({})
    api, cli = [], []
    for i in range(args.runs):
        start = time.perf_counter()
        run_id = server.create(model, {"iterations": 1_000_000, "seed": 42})
        done = server.wait_done(run_id)
        api.append(time.perf_counter() - start)
        assert done["status"] == "completed", done
        status, run = server.request("GET", f"/api/runs/{run_id}")
        assert run["sample_rows"] == 10_000, run["sample_rows"]

        start = time.perf_counter()
        subprocess.run([BIN, "run", args.model, "--iterations", "1000000", "--seed", "42",
                        "--format", "json"], check=True, stdout=subprocess.DEVNULL)
        cli.append(time.perf_counter() - start)
        print(f"round {i + 1}: api {api[-1]:.3f} s, cli {cli[-1]:.3f} s", file=sys.stderr)
    a, c = statistics.median(api), statistics.median(cli)
    print(f"wide50 1M: API POST→done (rows stored) median {a:.3f} s, CLI median {c:.3f} s, "
          f"ratio {a / c:.2f}x  (api {['%.3f' % x for x in api]}, cli {['%.3f' % x for x in cli]})")

    # 2. /health latency while MAX_CONCURRENT_RUNS (= cores) big runs keep every core busy.
    ids = [server.create(model, {"iterations": 10_000_000, "seed": s}) for s in range(cores)]
    time.sleep(1.0)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    latencies = []
    for _ in range(args.health_requests):
        start = time.perf_counter()
        status, body = server.request("GET", "/health", conn=conn)
        latencies.append((time.perf_counter() - start) * 1000)
        assert status == 200
        assert body["runs"]["running"] == cores, body["runs"]
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    print(f"/health under {cores} running 10M runs: p50 {p(0.50):.2f} ms, p99 {p(0.99):.2f} ms, "
          f"max {latencies[-1]:.2f} ms ({len(latencies)} requests)")
    for run_id in ids:
        server.wait_done(run_id)
    server.stop()

    # 3. Peak RSS of a fresh server during four concurrent 10M-iteration runs.
    server = Server({"MAX_CONCURRENT_RUNS": "4"})
    base = server.peak_rss_mb()
    start = time.perf_counter()
    ids = [server.create(model, {"iterations": 10_000_000, "seed": s}) for s in range(4)]
    for run_id in ids:
        assert server.wait_done(run_id)["status"] == "completed"
    wall = time.perf_counter() - start
    print(f"four concurrent wide50 10M runs: {wall:.1f} s, server peak RSS {server.peak_rss_mb():.1f} MB "
          f"(idle {base:.1f} MB)")
    server.stop()


if __name__ == "__main__":
    main()
