"""The `abuse` phase of scripts/hardening.py: every reproduction of the issue "Every request's cost
bounded", replayed against a server whose address space is limited to 1 GiB (RLIMIT_AS, which
makes an allocation past it fail rather than the kernel kill the process), each alone and then
all at once, while /health is asked every 50 ms on a connection of its own. Checks: the process
never dies, its peak RSS stays under the limit, /health p99 under 100 ms, each abusive request
gets its documented answer or completes within its limits, cancel and the time limit take effect
within 100 ms.
"""
import asyncio
import http.client
import json
import multiprocessing
import resource
import socket
import time

LIMIT = 1 << 30
BUDGET = "512MiB"


def _node(i, expr, output=False):
    return {"id": i, "expr": expr, "output": output}


def _slow_model():
    """40 Latin hypercube draws of binomial(1e15, 0.3): a chunk takes 0.66 s per term, so a
    run stops inside a chunk, inside an instruction."""
    return {"name": "slow binomials",
            "nodes": [_node("x", " + ".join(["binomial(1e15, 0.3)"] * 40), True)],
            "settings": {"sampling": "latin_hypercube"}}


class Abuse:
    def __init__(self, h, port):
        self.h, self.port = h, port

    async def answer(self, method, path, body=None, headers=None):
        """A request on a new connection; while the connection flood holds every place, new
        connections are closed at once, so one without an answer is tried again (for 20 s)."""
        deadline = time.time() + 20
        while True:
            conn = self.h.Conn(self.port)
            status, hdrs, payload = await conn.request(method, path, body, headers)
            conn.close()
            if status is not None or time.time() > deadline:
                return status, hdrs, payload
            await asyncio.sleep(0.1)

    async def post(self, body, path="/api/runs", headers=None):
        t0 = time.perf_counter()
        status, _, payload = await self.answer("POST", path, body, headers)
        try:
            doc = json.loads(payload) if payload else None
        except ValueError:
            doc = None
        return status, doc, (time.perf_counter() - t0) * 1000

    async def get(self, path):
        status, _, payload = await self.answer("GET", path)
        return status, (json.loads(payload) if payload else None)

    async def terminal(self, run, timeout=120, every=0.005):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, doc = await self.get(f"/api/runs/{run}")
            if status == 200 and doc["status"] in self.h.TERMINAL:
                return doc
            await asyncio.sleep(every)
        return None

    def expect(self, status, doc, code, words, what):
        message = json.dumps(doc)[:300] if doc else ""
        self.h.check(status == code and words in message, f"{what}: {status}, `{words}`")

    async def memory(self):
        big = [_node(f"n{i}", "1") for i in range(9999)] + [_node("out", "n0 + 1", True)]
        status, doc, ms = await self.post({"model": {"nodes": big},
                                           "settings": {"iterations": 20_000, "sample_size": 1}})
        self.expect(status, doc, 422, "MEMORY_BUDGET", f"10,000 nodes of `1` at 20,000 iterations ({ms:.0f} ms)")
        bigger = [_node(f"n{i}", "1") for i in range(20_000)]
        status, doc, ms = await self.post({"model": {"nodes": bigger}, "settings": {"iterations": 20_000}})
        self.expect(status, doc, 422, "nodes", f"20,000 nodes ({ms:.0f} ms)")

    async def compilation(self):
        inputs = [_node(f"c{i}", "normal(0, 1)") for i in range(150)] + [_node("t", "c0 + c1", True)]
        chain = [{"between": [f"c{i}", f"c{i + 1}"], "rank": 1} for i in range(149)]
        chain.append({"between": ["c0", "c149"], "rank": -1})
        body = {"model": {"nodes": inputs, "correlations": chain}}
        results = await asyncio.gather(self.post(body, "/api/models/validate"),
                                       self.post(body, "/api/models/validate"))
        for status, doc, ms in results:
            self.h.check(status == 200 and doc and doc.get("valid") is False
                         and "correlated" in json.dumps(doc),
                         f"150 correlated inputs chained by rank 1: invalid, naming the limit ({ms:.0f} ms)")
        ids = [_node("a" * 999 + str(i), "b" * 1000 + str(i)) for i in range(125)]
        status, doc, ms = await self.post({"model": {"nodes": ids}, "settings": {}})
        self.expect(status, doc, 422, "64", f"125 ids of 1,000 characters naming unknown nodes ({ms:.0f} ms)")
        self.h.check(ms < 1000, f"... answered in {ms:.0f} ms (was 17-33 s)")

    async def deadlines(self):
        binomials = {"nodes": [_node("x", " + ".join(["truncate(binomial(1e9, 0.5), 0, 10)"] * 40), True)]}
        status, doc, ms = await self.post({"model": binomials, "settings": {"max_time_ms": 1000}})
        self.expect(status, doc, 422, "too improbable", "40 truncate(binomial(1e9, 0.5), 0, 10)")
        status, doc, _ = await self.post({"model": _slow_model(), "settings": {"max_time_ms": 1000}})
        self.h.check(status == 202, f"a slow model with max_time_ms 1000 is accepted ({status})")
        timed = await self.terminal(doc["id"])
        over = timed["summary"]["elapsed_ms"] - 1000 if timed and timed.get("summary") else None
        self.h.check(timed is not None and timed["status"] == "timed_out" and over is not None and over <= 100,
                     f"... timed out {over} ms after its limit (within 100 ms)")
        status, doc, _ = await self.post({"model": _slow_model(), "settings": {}})
        run, owner = doc["id"], doc["owner_token"]
        # One connection, kept open: while the connection flood holds every place, a new one
        # would be closed, and its retries would be counted in the time measured.
        conn = self.h.Conn(self.port)
        while True:
            status, _, body = await conn.request("GET", f"/api/runs/{run}")
            if status == 200 and json.loads(body)["status"] == "running":
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)
        t0 = time.perf_counter()
        await conn.request("POST", f"/api/runs/{run}/cancel", None, {"Authorization": f"Bearer {owner}"})
        done = None
        while time.perf_counter() - t0 < 30:
            status, _, body = await conn.request("GET", f"/api/runs/{run}")
            if status == 200 and json.loads(body)["status"] in self.h.TERMINAL:
                done = json.loads(body)
                break
            await asyncio.sleep(0.005)
        took = (time.perf_counter() - t0) * 1000
        conn.close()
        self.h.check(done is not None and done["status"] == "cancelled" and took <= 100,
                     f"cancelled after 1.5 s: terminal {took:.0f} ms after the cancel (within 100 ms)")

    async def finishing(self):
        wide = {"nodes": [_node(f"n{i}", "normal(0, 1)") for i in range(1000)]}
        status, doc, _ = await self.post({"model": wide, "settings": {"iterations": 20_000, "max_time_ms": 1000}})
        self.h.check(status == 202, f"1,000 normal nodes at 20,000 iterations, max_time_ms 1000: accepted ({status})")
        if status != 202:
            return
        run = await self.terminal(doc["id"])
        elapsed = run["summary"]["elapsed_ms"] if run and run.get("summary") else None
        size = len(json.dumps(run["summary"])) if run and run.get("summary") else 0
        # The drivers may take a quarter of the limit more and are skipped past it; the
        # statistics of the 1,000 outputs (0.2 s of CPU) are always kept.
        skipped = any(w["kind"] == "skipped" for w in run["summary"]["warnings"]) if elapsed else False
        self.h.check(run is not None and elapsed is not None and elapsed <= 2000,
                     f"... {run and run['status']} in {elapsed} ms, within twice its limit "
                     f"({'drivers skipped' if skipped else 'drivers ranked'}); "
                     f"summary {size / 1e6:.1f} MB (was 51 s and 134 MB)")
        t0 = time.perf_counter()
        reads = await asyncio.gather(*[self.get(f"/api/runs/{doc['id']}") for _ in range(8)])
        self.h.check(all(s == 200 for s, _ in reads),
                     f"... 8 concurrent reads in {(time.perf_counter() - t0) * 1000:.0f} ms")

    async def connections(self):
        socks = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            s.setblocking(False)
            socks.append(s)
        t0 = time.time()
        while socks and time.time() - t0 < 15:
            await asyncio.sleep(0.25)
            for s in list(socks):
                try:
                    if s.recv(4096) == b"":
                        socks.remove(s)
                        s.close()
                except BlockingIOError:
                    pass
                except OSError:
                    socks.remove(s)
                    s.close()
        took = time.time() - t0
        self.h.check(not socks, f"200 clients sending half their headers: all closed after {took:.1f} s "
                                f"(HEADER_READ_TIMEOUT 10 s; {len(socks)} left open)")
        for s in socks:
            s.close()
        idle = []
        refused = 0
        for _ in range(3000):
            try:
                idle.append(socket.create_connection(("127.0.0.1", self.port), timeout=1))
            except OSError:
                refused += 1
        await asyncio.sleep(1)
        closed = 0
        for s in idle:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        for s in idle:
            s.close()
        self.h.check(closed >= 900, f"3,000 idle sockets against MAX_CONNECTIONS=2000: {closed} closed at once, "
                                    f"{refused} refused")

    async def queue(self):
        # Two slow runs hold both workers, so everything after them waits queued.
        holders = [(await self.post({"model": _slow_model(), "settings": {}}))[1] for _ in range(2)]
        small = {"model": self.h.STARTUP, "settings": {"iterations": 4096, "sample_size": 10}}
        sem = asyncio.Semaphore(32)
        codes = {}

        async def one():
            async with sem:
                status, _, _ = await self.post(small)
                codes[status] = codes.get(status, 0) + 1

        await asyncio.gather(*[one() for _ in range(1010)])
        status, health = await self.get("/health")
        queued = health["runs"]["queued"] if health else None
        self.h.check(codes.get(202, 0) <= 1000 - 0 and codes.get(429, 0) >= 10,
                     f"1,010 POSTs 32 at a time with MAX_QUEUED_RUNS=1000: {codes} ({queued} queued here)")
        for holder in holders:
            await self.post(None, f"/api/runs/{holder['id']}/cancel",
                            {"Authorization": f"Bearer {holder['owner_token']}"})

    async def json_only(self):
        conn = self.h.Conn(self.port)
        head = ("POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                "Origin: https://evil.example\r\n")
        data = json.dumps({"model": self.h.STARTUP}).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data)
        await writer.drain()
        line = await reader.readline()
        writer.close()
        conn.close()
        status = int(line.split()[1])
        self.h.check(status in (403, 415), f"a text/plain POST from https://evil.example: {status}")
        status, doc, _ = await self.post({"model": self.h.STARTUP}, headers={"Origin": "https://evil.example"})
        self.expect(status, doc, 403, "origin", "a JSON POST from https://evil.example")


def _poll_health(port, stop, out):
    """In a process of its own, so that the abusers' blocking calls and JSON work in this one
    never delay it: /health every 50 ms on one keep-alive connection, the latencies sent back."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, failed = [], 0
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            conn.request("GET", "/health")
            conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            failed += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)
    out.send((latencies, failed))


async def abuse_phase(h, base_env, port):
    print(f"\nabuse: every reproduction, alone and all at once, against a server limited to 1 GiB "
          f"(RLIMIT_AS), MEMORY_BUDGET={BUDGET}")
    env = dict(base_env, MEMORY_BUDGET=BUDGET, MAX_CONCURRENT_RUNS="2", MAX_QUEUED_RUNS="1000",
               MAX_CONNECTIONS="2000", MALLOC_ARENA_MAX="2")
    server = h.Server(port, env, preexec=lambda: resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT)))
    server.start()
    abuse = Abuse(h, port)
    parts = [abuse.memory, abuse.compilation, abuse.deadlines, abuse.finishing, abuse.connections,
             abuse.queue, abuse.json_only]
    try:
        for label in ["each alone", "all at once"]:
            print(f"  {label}:")
            stop, (theirs, ours) = multiprocessing.Event(), multiprocessing.Pipe(duplex=False)
            poller = multiprocessing.Process(target=_poll_health, args=(port, stop, ours))
            poller.start()
            t0 = time.time()
            if label == "each alone":
                for part in parts:
                    await part()
            else:
                await asyncio.gather(*[part() for part in parts])
            stop.set()
            latencies, failed = theirs.recv()
            poller.join()
            p99 = h.percentile(latencies, 99)
            print(f"    {time.time() - t0:.0f} s; /health {len(latencies)} requests, p50 "
                  f"{h.percentile(latencies, 50):.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms; "
                  f"peak RSS {server.peak_rss_mb():.0f} MB")
            h.check(server.proc.poll() is None and failed == 0,
                    f"the server stayed up ({failed} /health requests unanswered)")
            h.check(p99 < 100, f"/health p99 under 100 ms ({p99:.1f} ms)")
            h.check(server.peak_rss_mb() < LIMIT / 2**20, f"peak RSS under 1 GiB ({server.peak_rss_mb():.0f} MB)")
            # Let the queue drain before the next round.
            await asyncio.sleep(1)
            for _ in range(600):
                _, health = await abuse.get("/health")
                if health and health["runs"]["queued"] == 0 and health["runs"]["running"] == 0:
                    break
                await asyncio.sleep(0.5)
    finally:
        server.kill(h.signal.SIGTERM)
    await reservations(h, base_env, port)


async def reservations(h, base_env, port):
    """With the budget and MAX_RUN_MEMORY set above the 1 GiB the process may address, a run
    that needs more than it can get fails, and the process stays up."""
    print("  a budget above the process's limit: the run's own reservation fails")
    env = dict(base_env, MEMORY_BUDGET="4GiB", MAX_RUN_MEMORY="4GiB", MALLOC_ARENA_MAX="2")
    server = h.Server(port, env, preexec=lambda: resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT)))
    server.start()
    abuse = Abuse(h, port)
    try:
        nodes = [_node(f"n{i}", "1") for i in range(5999)] + [_node("out", "n0 + 1", True)]
        status, doc, _ = await abuse.post({"model": {"nodes": nodes},
                                           "settings": {"iterations": 20_000, "sample_size": 1}})
        run = await abuse.terminal(doc["id"]) if status == 202 else None
        error = (run or {}).get("error") or ""
        print(f"    {status}; {run and run['status']}: {error}")
        h.check(run is not None and run["status"] == "failed" and "could not reserve" in error,
                "6,000 nodes at 20,000 iterations: failed, naming the buffer it could not reserve")
        status, _ = await abuse.get("/health")
        h.check(server.proc.poll() is None and status == 200, "the server stayed up")
    finally:
        server.kill(h.signal.SIGTERM)
