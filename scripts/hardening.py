#!/usr/bin/env python3
"""Load and fault checks of the real server over loopback, with figures.

Started by scripts/hardening.sh, which builds the server and starts a PostgreSQL of its own
(PG_CTL_START / PG_CTL_STOP name the commands that start and stop it). Phases:

  load      LOAD_S seconds of CLIENTS concurrent clients submitting small runs and reading
            their results, with HEALTH_RPS /health requests a second: no 5xx but 503 with
            Retry-After, every run terminal, peak RSS, /health p50/p99.
  bigruns   four concurrent 10M-iteration runs of wide50: the server's peak RSS.
  sigkill   runs in flight, the server killed with SIGKILL and started again: every run
            completes once with the summary the command line gives.
  outage    PostgreSQL stopped for OUTAGE_S seconds under load: 503 with Retry-After,
            /health degraded, no crash, runs finished and stored after it returns.
  abuse     every reproduction of the bounded-cost issue against a server limited to 1 GiB,
            alone and all at once (scripts/hardening_abuse.py).

Prints a table per phase and exits non-zero if any check fails. Python standard library only.
"""
import asyncio
import glob
import json
import os
import signal
import statistics
import subprocess
import sys
import time

import hardening_abuse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "scenarioforge")
CLIENTS = int(os.environ.get("CLIENTS", "200"))
LOAD_S = float(os.environ.get("LOAD_S", "60"))
HEALTH_RPS = int(os.environ.get("HEALTH_RPS", "1000"))
OUTAGE_S = float(os.environ.get("OUTAGE_S", "30"))
STARTUP = json.load(open(os.path.join(ROOT, "examples", "startup.json")))
TERMINAL = {"completed", "converged", "timed_out", "cancelled", "failed"}

failures = []


def check(ok, what):
    print(f"  [{'ok' if ok else 'FAIL'}] {what}")
    if not ok:
        failures.append(what)


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port):
        self.port, self.reader, self.writer = port, None, None

    async def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                data = b"" if body is None else json.dumps(body).encode()
                head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n"
                if body is not None:
                    head += "Content-Type: application/json\r\n"
                for k, v in (headers or {}).items():
                    head += f"{k}: {v}\r\n"
                self.writer.write(head.encode() + b"\r\n" + data)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionError("closed")
                status = int(status_line.split()[1])
                hdrs = {}
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    k, _, v = line.decode().partition(":")
                    hdrs[k.strip().lower()] = v.strip()
                if "content-length" in hdrs:
                    payload = await self.reader.readexactly(int(hdrs["content-length"]))
                else:
                    payload = b""
                    while True:
                        size = int((await self.reader.readline()).strip(), 16)
                        chunk = await self.reader.readexactly(size + 2)
                        if size == 0:
                            break
                        payload += chunk[:-2]
                if hdrs.get("connection") == "close":
                    self.close()
                return status, hdrs, payload
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                self.close()
                if attempt == 1:
                    return None, {}, b""
        return None, {}, b""

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Server:
    def __init__(self, port, env, preexec=None):
        self.port, self.env, self.proc, self.preexec = port, env, None, preexec

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                     preexec_fn=self.preexec,
                                     stderr=open(os.path.join(ROOT, ".data", "hardening-server.log"), "a"))
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                      f"http://127.0.0.1:{self.port}/health"],
                                     capture_output=True, text=True, timeout=5).stdout
                if out in ("200", "503"):
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def rss_mb(self):
        try:
            for line in open(f"/proc/{self.proc.pid}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def peak_rss_mb(self):
        try:
            for line in open(f"/proc/{self.proc.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait()


class Stats:
    def __init__(self):
        self.by_status = {}
        self.retry_after_missing = 0
        self.run_ids = []
        self.health_ms = []

    def saw(self, status, hdrs):
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status in (429, 503) and "retry-after" not in hdrs:
            self.retry_after_missing += 1


async def client(port, deadline, stats, settings):
    conn = Conn(port)
    while time.time() < deadline:
        status, hdrs, body = await conn.request("POST", "/api/runs",
                                                {"model": STARTUP, "settings": settings})
        stats.saw(status, hdrs)
        if status in (429, 503):
            await asyncio.sleep(min(float(hdrs.get("retry-after", "1")), 1.0))
            continue
        if status != 202:
            await asyncio.sleep(0.2)
            continue
        run = json.loads(body)["id"]
        stats.run_ids.append(run)
        while True:
            await asyncio.sleep(0.2)
            status, hdrs, body = await conn.request("GET", f"/api/runs/{run}")
            stats.saw(status, hdrs)
            if status == 200 and json.loads(body)["status"] in TERMINAL:
                status, hdrs, _ = await conn.request("GET", f"/api/runs/{run}/samples?limit=10")
                stats.saw(status, hdrs)
                break
            if time.time() > deadline + 120:
                break
    conn.close()


async def health(port, deadline, stats, rps):
    """`rps` requests a second, open loop: each starts on schedule on a free connection."""
    pool = [Conn(port) for _ in range(32)]
    free = asyncio.Queue()
    for c in pool:
        free.put_nowait(c)

    async def one():
        c = await free.get()
        t0 = time.perf_counter()
        status, hdrs, _ = await c.request("GET", "/health")
        stats.health_ms.append((time.perf_counter() - t0) * 1000)
        stats.saw(status, hdrs)
        free.put_nowait(c)

    tasks = []
    start = time.time()
    n = 0
    while time.time() < deadline:
        n += 1
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(max(0.0, start + n / rps - time.time()))
    await asyncio.gather(*tasks)
    for c in pool:
        c.close()


async def wait_terminal(port, ids, timeout):
    conn = Conn(port)
    pending, runs = set(ids), {}
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        for run in list(pending):
            status, _, body = await conn.request("GET", f"/api/runs/{run}")
            if status == 200:
                doc = json.loads(body)
                if doc["status"] in TERMINAL:
                    runs[run] = doc
                    pending.discard(run)
        await asyncio.sleep(0.5)
    conn.close()
    return runs, pending


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


async def sample_rss(server, until, peaks):
    while time.time() < until:
        peaks.append(server.rss_mb())
        await asyncio.sleep(0.5)


async def load_phase(server):
    print(f"\nload: {CLIENTS} clients submitting runs for {LOAD_S:.0f} s, /health at {HEALTH_RPS}/s")
    stats, rss = Stats(), []
    deadline = time.time() + LOAD_S
    settings = {"iterations": 4096, "sample_size": 100}
    t0 = time.time()
    await asyncio.gather(
        *[client(server.port, deadline, stats, settings) for _ in range(CLIENTS)],
        health(server.port, deadline, stats, HEALTH_RPS),
        sample_rss(server, deadline + 5, rss),
    )
    runs, pending = await wait_terminal(server.port, stats.run_ids, 180)
    took = time.time() - t0
    statuses = {}
    for r in runs.values():
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    h = stats.health_ms
    print(f"  requests by status: {dict(sorted(stats.by_status.items(), key=lambda kv: str(kv[0])))}")
    print(f"  runs submitted {len(stats.run_ids)}, terminal {len(runs)} {statuses}, in {took:.0f} s")
    print(f"  /health: {len(h)} requests ({len(h) / LOAD_S:.0f}/s), p50 {percentile(h, 50):.1f} ms, "
          f"p99 {percentile(h, 99):.1f} ms, max {max(h) if h else float('nan'):.1f} ms")
    print(f"  server RSS: peak {server.peak_rss_mb():.0f} MB (sampled max {max(rss) if rss else 0:.0f} MB)")
    fives = sum(n for s, n in stats.by_status.items() if s is not None and s >= 500 and s != 503)
    check(fives == 0, f"no 5xx other than 503 ({fives})")
    check(stats.by_status.get(None, 0) == 0, f"no request dropped without an answer ({stats.by_status.get(None, 0)})")
    check(stats.retry_after_missing == 0, "every 429 and 503 says Retry-After")
    check(not pending, f"every submitted run reached a terminal status ({len(pending)} did not)")
    check(server.peak_rss_mb() < 256, f"peak RSS under 256 MB ({server.peak_rss_mb():.0f} MB)")
    check(percentile(h, 99) < 20, f"/health p99 under 20 ms ({percentile(h, 99):.1f} ms)")


def cli_summary(settings):
    args = [BIN, "run", os.path.join(ROOT, "examples", "startup.json"), "--format", "json",
            "--iterations", str(settings["iterations"]), "--seed", str(settings["seed"])]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


async def sigkill_phase(server, db_url):
    print("\nsigkill: 12 runs in flight, the server killed with SIGKILL and started again")
    conn = Conn(server.port)
    # Runs of a few seconds each, so that some are running and most are queued at the kill.
    settings = [{"iterations": 5_000_000 + 4096 * i, "seed": i} for i in range(12)]
    ids = []
    for s in settings:
        status, _, body = await conn.request("POST", "/api/runs", {"model": STARTUP, "settings": s})
        ids.append(json.loads(body)["id"])
    await asyncio.sleep(1.5)
    conn.close()
    states = {}
    for run in ids:
        status, _, body = await Conn(server.port).request("GET", f"/api/runs/{run}")
        st = json.loads(body)["status"] if status == 200 else "?"
        states[st] = states.get(st, 0) + 1
    print(f"  at the kill: {states}")
    check(states.get("running", 0) > 0, "runs were executing when the server was killed")
    server.kill()
    server.start()
    runs, pending = await wait_terminal(server.port, ids, 300)
    same = 0
    for run, s in zip(ids, settings):
        if run in runs and runs[run]["status"] == "completed":
            got, want = runs[run]["summary"], cli_summary(s)
            got["elapsed_ms"] = want["elapsed_ms"] = 0
            same += got == want
    psql = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))), "psql")
    count = subprocess.run([psql, db_url, "-Atc", "select count(*) from runs where id = any(%s)" %
                            ("array[" + ",".join(f"'{i}'::uuid" for i in ids) + "]")],
                           capture_output=True, text=True).stdout.strip()
    check(not pending, f"every run reached a terminal status after the restart ({len(pending)} did not)")
    check(same == len(ids), f"every run completed with the command line's summary ({same} of {len(ids)})")
    check(count == str(len(ids)), f"each run stored once ({count} rows for {len(ids)} runs)")


async def outage_phase(server, stop_pg, start_pg):
    print(f"\noutage: PostgreSQL stopped for {OUTAGE_S:.0f} s under load")
    stats = Stats()
    conn = Conn(server.port)
    status, _, body = await conn.request("POST", "/api/runs", {"model": STARTUP, "settings": {"iterations": 3_000_000, "seed": 1}})
    running = json.loads(body)["id"]
    await asyncio.sleep(1.0)
    deadline = time.time() + OUTAGE_S + 10
    load = asyncio.gather(*[client(server.port, deadline, stats, {"iterations": 4096, "sample_size": 50}) for _ in range(20)],
                          health(server.port, deadline, stats, 100))
    await asyncio.sleep(3)
    subprocess.run(stop_pg, shell=True, check=True, capture_output=True)
    t_down = time.time()
    await asyncio.sleep(2)
    status, hdrs, body = await conn.request("GET", "/health")
    degraded = status == 503 and json.loads(body).get("status") == "degraded"
    status2, hdrs2, _ = await conn.request("POST", "/api/runs", {"model": STARTUP, "settings": {"iterations": 4096}})
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.time() - t_down)))
    subprocess.run(start_pg, shell=True, check=True, capture_output=True)
    await load
    alive = server.proc.poll() is None
    runs, pending = await wait_terminal(server.port, stats.run_ids + [running], 240)
    status3, _, body3 = await conn.request("GET", "/health")
    conn.close()
    print(f"  requests by status: {dict(sorted(stats.by_status.items(), key=lambda kv: str(kv[0])))}")
    print(f"  during the outage: /health {status} ({'degraded' if degraded else '?'}), POST /api/runs {status2} "
          f"Retry-After {hdrs2.get('retry-after')}")
    print(f"  the long run: {runs.get(running, {}).get('status', 'not terminal')}, "
          f"{runs.get(running, {}).get('summary', {}) and runs[running]['summary']['iterations']} iterations")
    fives = sum(n for s, n in stats.by_status.items() if s is not None and s >= 500 and s != 503)
    check(degraded, "/health says degraded (503) while the database is down")
    check(status2 == 503 and "retry-after" in hdrs2, "a request that needs the database gets 503 with Retry-After")
    check(fives == 0, f"no 5xx other than 503 ({fives})")
    check(alive, "the server did not crash")
    check(status3 == 200 and json.loads(body3)["status"] == "ok", "/health is ok again, without a restart")
    check(runs.get(running, {}).get("status") == "completed", "the run executing during the outage finished and was stored")
    check(not pending, f"every run submitted reached a terminal status ({len(pending)} did not)")


async def bigruns_phase(base_env, port):
    """Four concurrent 10M-iteration runs of wide50 on a server of their own (MAX_CONCURRENT_RUNS=4)."""
    print("\nbigruns: four concurrent 10,000,000-iteration runs of wide50")
    server = Server(port, dict(base_env, MAX_CONCURRENT_RUNS="4"))
    server.start()
    try:
        wide50 = json.load(open(os.path.join(ROOT, "..", "shared", "bench", "wide50.json")))
        conn = Conn(port)
        ids = []
        t0 = time.time()
        for seed in range(4):
            status, _, body = await conn.request(
                "POST", "/api/runs", {"model": wide50, "settings": {"iterations": 10_000_000, "seed": seed}})
            ids.append(json.loads(body)["id"])
        conn.close()
        rss = []
        waiter = asyncio.create_task(wait_terminal(port, ids, 600))
        while not waiter.done():
            rss.append(server.rss_mb())
            await asyncio.sleep(0.25)
        runs, pending = waiter.result()
        idle = server.rss_mb()
        print(f"  {len(runs)} runs {sorted({r['status'] for r in runs.values()})} in {time.time() - t0:.0f} s; "
              f"server peak RSS {server.peak_rss_mb():.0f} MB (sampled max {max(rss):.0f} MB, after {idle:.0f} MB)")
        check(not pending and all(r["status"] == "completed" for r in runs.values()), "all four completed")
        check(server.peak_rss_mb() < 256, f"peak RSS bounded: {server.peak_rss_mb():.0f} MB < 256 MB")
    finally:
        server.kill(signal.SIGTERM)


async def cores_phase(base_env, port):
    """Eight 1M-iteration wide50 runs at once (MAX_CONCURRENT_RUNS=8) against the same eight one
    after another (MAX_CONCURRENT_RUNS=1): runs share the cores chunk by chunk, so running them
    together costs no more than running them in turn."""
    print("\ncores: eight 1,000,000-iteration runs of wide50, at once and one after another")
    wide50 = json.load(open(os.path.join(ROOT, "..", "shared", "bench", "wide50.json")))
    took = {}
    for label, concurrent in [("one after another", "1"), ("at once", "8"),
                              ("one after another (again)", "1"), ("at once (again)", "8")]:
        server = Server(port, dict(base_env, MAX_CONCURRENT_RUNS=concurrent))
        server.start()
        try:
            conn = Conn(port)
            ids = []
            t0 = time.time()
            for seed in range(8):
                status, _, body = await conn.request(
                    "POST", "/api/runs", {"model": wide50, "settings": {"iterations": 1_000_000, "seed": seed}})
                ids.append(json.loads(body)["id"])
            conn.close()
            runs, pending = await wait_terminal(port, ids, 600)
            took.setdefault(concurrent, []).append(time.time() - t0)
            print(f"  {label}: {took[concurrent][-1]:.2f} s "
                  f"({sorted({r['status'] for r in runs.values()})})")
            check(not pending and all(r["status"] == "completed" for r in runs.values()),
                  f"all eight completed ({label})")
        finally:
            server.kill(signal.SIGTERM)
    at_once, in_turn = min(took["8"]), min(took["1"])
    ratio = at_once / in_turn
    print(f"  best of two: at once {at_once:.2f} s, one after another {in_turn:.2f} s: ratio {ratio:.2f}")
    check(ratio <= 1.1, f"eight runs at once take at most 1.1x the time of the same eight in turn ({ratio:.2f})")


async def watch_events(port, run, seen):
    """One SSE client on a run: reads until the `done` event; records whether it saw one."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /api/runs/{run}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        await writer.drain()
        # Whole reads, not lines: 1,000 readers in one Python process must not be what the
        # run waits for on a 2-core machine.
        tail = b""
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if b"event: done" in tail + data:
                seen.append(True)
                break
            tail = data[-16:]
        writer.close()
    except OSError:
        pass


async def timed_run(port, model, settings):
    conn = Conn(port)
    t0 = time.time()
    _, _, body = await conn.request("POST", "/api/runs", {"model": model, "settings": settings})
    run = json.loads(body)["id"]
    conn.close()
    return run, t0


def db_transactions(db_url):
    psql = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))), "psql")
    out = subprocess.run([psql, db_url, "-Atc", "select xact_commit + xact_rollback from pg_stat_database "
                          "where datname = current_database()"], capture_output=True, text=True).stdout
    return int(out.strip() or 0)


async def streams_phase(base_env, port, db_url):
    """1,000 event streams on one running run: each event is serialised once, so all see the
    end, the server's memory barely moves and the run is no slower; and 1,000 streams on a
    second process, where the run is not executing, cost one database poller, not 1,000."""
    print("\nstreams: 1,000 SSE clients on one running run, on the process running it and on another")
    wide50 = json.load(open(os.path.join(ROOT, "..", "shared", "bench", "wide50.json")))
    # A run of a few seconds, so that 1,000 clients connecting is a small part of it.
    settings = lambda seed: {"iterations": 40_000_000, "seed": seed, "sample_size": 1000}
    # The watchers' process first: a server starting re-queues unfinished runs, so it must be
    # up before the run exists to leave it to the other.
    other_port = port + 1
    big = dict(base_env, MAX_SIMULATION_ITERATIONS="40000000", MAX_CONCURRENT_RUNS="1")
    watcher_server = Server(other_port, dict(big, BIND_ADDR=f"127.0.0.1:{other_port}"))
    watcher_server.start()
    server = Server(port, big)
    server.start()
    try:
        run, t0 = await timed_run(port, wide50, settings(1))
        runs, _ = await wait_terminal(port, [run], 300)
        alone = runs[run]["timings"]["elapsed_ms"] / 1000
        before = server.rss_mb()
        run, t0 = await timed_run(port, wide50, settings(2))
        # The clients at the run threads' priority, so that they take no more than their share.
        os.nice(10)
        seen = []
        watchers = [asyncio.create_task(watch_events(port, run, seen)) for _ in range(1000)]
        rss = []
        while not all(w.done() for w in watchers) and time.time() - t0 < 300:
            rss.append(server.rss_mb())
            await asyncio.sleep(0.1)
        runs, _ = await wait_terminal(port, [run], 60)
        watched = runs[run]["timings"]["elapsed_ms"] / 1000
        growth = max(rss) - before
        print(f"  run alone {alone:.2f} s, with 1,000 watchers {watched:.2f} s; {len(seen)} saw `done`; "
              f"RSS {before:.0f} MB before, peak {max(rss):.0f} MB (+{growth:.0f} MB)")
        check(len(seen) == 1000, f"all 1,000 watchers saw the final event ({len(seen)})")
        check(growth < 64, f"RSS grew by less than 64 MB ({growth:.0f} MB)")
        check(watched <= 1.1 * alone, f"the watched run took at most 1.1x its time alone ({watched / alone:.2f}x)")

        # The same on the other process, which follows the run in the database.
        run, t0 = await timed_run(port, wide50, settings(3))
        await asyncio.sleep(0.5)
        seen = []
        tx0, w0 = db_transactions(db_url), time.time()
        watchers = [asyncio.create_task(watch_events(other_port, run, seen)) for _ in range(1000)]
        while not all(w.done() for w in watchers) and time.time() - t0 < 300:
            await asyncio.sleep(0.1)
        rate = (db_transactions(db_url) - tx0) / (time.time() - w0)
        print(f"  on the other process: {len(seen)} saw `done`; database transactions {rate:.0f}/s "
              f"while they watched (one poller: 2/s, plus the run's own progress writes)")
        check(len(seen) == 1000, f"all 1,000 remote watchers saw the final event ({len(seen)})")
        check(rate < 50, f"one poller, not one per client ({rate:.0f} transactions/s, 1,000 pollers would be 2,000)")
    finally:
        server.kill(signal.SIGTERM)
        watcher_server.kill(signal.SIGTERM)


async def main():
    port = int(os.environ["PORT"])
    # Every client here is 127.0.0.1: the per-client quota would turn the load into 429s.
    env = dict(os.environ, BIND_ADDR=f"127.0.0.1:{port}", RUST_LOG="warn", WEB_DIR=os.path.join(ROOT, "dist"),
               MAX_RUNS_PER_CLIENT="1000000")
    server = Server(port, env)
    server.start()
    try:
        phases = sys.argv[1:] or ["load", "bigruns", "cores", "streams", "sigkill", "outage", "abuse"]
        if "load" in phases:
            await load_phase(server)
        if "bigruns" in phases:
            server.kill(signal.SIGTERM)
            await bigruns_phase(env, port)
            server.start()
        if "cores" in phases:
            server.kill(signal.SIGTERM)
            await cores_phase(env, port)
            server.start()
        if "streams" in phases:
            server.kill(signal.SIGTERM)
            await streams_phase(env, port, os.environ["DATABASE_URL"])
            server.start()
        if "sigkill" in phases:
            await sigkill_phase(server, os.environ["DATABASE_URL"])
        if "outage" in phases:
            await outage_phase(server, os.environ["PG_CTL_STOP"], os.environ["PG_CTL_START"])
        if "abuse" in phases:
            server.kill(signal.SIGTERM)
            await hardening_abuse.abuse_phase(sys.modules[__name__], env, port)
            server.start()
    finally:
        if server.proc.poll() is None:
            server.kill(signal.SIGTERM)
    print("\n" + ("all checks passed" if not failures else f"{len(failures)} check(s) failed: {failures}"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    asyncio.run(main())
