#!/usr/bin/env python3
"""Whole-process benchmark: scenarioforge against the numpy baseline, side by side.

Runs each command alternately, several times, and reports median wall time, peak RSS
and the ratios, measured in this one run (the machines are shared and noisy: compare only
numbers from the same run).

usage: scripts/bench.py [--runs N] [--bench-dir ../shared/bench]
needs: a release build (cargo build --release) and numpy in .venv (scripts/bench.sh sets both up)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(cmd):
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one whole process, and
    its stdout. CPU time is the steadier figure on a shared machine: it does not count the
    time the process waited for a core."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bench-dir", default=os.path.join(ROOT, "..", "shared", "bench"))
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    args = ap.parse_args()
    sf = os.path.join(ROOT, "target", "release", "scenarioforge")
    bench = os.path.abspath(args.bench_dir)

    def sf_cmd(model, n, threads):
        return [sf, "run", os.path.join(bench, f"{model}.json"), "--iterations", str(n),
                "--threads", str(threads), "--format", "json"]

    def np_cmd(model, n):
        return [args.python, os.path.join(bench, "numpy_baseline.py"), model, str(n), "42"]

    commands = {
        "numpy wide50 1M": np_cmd("wide50", 1_000_000),
        "sf wide50 1M, 1 thread": sf_cmd("wide50", 1_000_000, 1),
        "sf wide50 1M, 2 threads": sf_cmd("wide50", 1_000_000, 2),
        "numpy startup 1M": np_cmd("startup", 1_000_000),
        "sf startup 1M, 1 thread": sf_cmd("startup", 1_000_000, 1),
        "sf wide50 100k, 1 thread": sf_cmd("wide50", 100_000, 1),
        "sf wide50 10M, 2 threads": sf_cmd("wide50", 10_000_000, 2),
    }
    results = {k: [] for k in commands}
    outputs = {}
    for r in range(args.runs):
        for name, cmd in commands.items():  # alternate: every command once per round
            wall, cpu, rss, out = measure(cmd)
            results[name].append((wall, cpu, rss))
            outputs[name] = out
        print(f"round {r + 1}/{args.runs} done", file=sys.stderr)

    med = {k: (statistics.median(w for w, _, _ in v), statistics.median(c for _, c, _ in v),
               max(m for _, _, m in v)) for k, v in results.items()}
    print(f"{'command':28} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12}  (medians of {args.runs})")
    for k, (w, c, m) in med.items():
        print(f"{k:28} {w:8.3f} {c:8.3f} {m:12.1f}")
    print()

    def ratio(a, b, col):
        return med[a][col] / med[b][col]
    for label, a, b in [("wide50 1M: numpy / sf 1 thread", "numpy wide50 1M", "sf wide50 1M, 1 thread"),
                        ("startup 1M: numpy / sf 1 thread", "numpy startup 1M", "sf startup 1M, 1 thread")]:
        print(f"{label:38} wall {ratio(a, b, 0):5.2f}x   cpu {ratio(a, b, 1):5.2f}x")
    print(f"{'wide50 1M: sf 1 thread / 2 threads':38} wall {ratio('sf wide50 1M, 1 thread', 'sf wide50 1M, 2 threads', 0):5.2f}x")
    print(f"peak RSS wide50: 10M {med['sf wide50 10M, 2 threads'][2]:.1f} MB vs 100k {med['sf wide50 100k, 1 thread'][2]:.1f} MB")

    # The same ratio with the two commands alone, alternated. numpy's time depends on how fast
    # the kernel faults in its 422 MB, which the other commands above seem to slow: report both.
    pair = {"numpy wide50 1M": [], "sf wide50 1M, 1 thread": []}
    for _ in range(args.runs):
        for name in pair:
            pair[name].append(measure(commands[name])[:2])
    (nw, nc), (sw, sc) = [(statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
                          for v in pair.values()]
    print(f"{'wide50 1M, the two alone: numpy / sf':38} wall {nw / sw:5.2f}x   cpu {nc / sc:5.2f}x"
          f"   (numpy {nw:.3f} s, sf {sw:.3f} s)")

    # Means agree with numpy's within 3 standard errors.
    for model in ("wide50", "startup"):
        ours = json.loads(outputs[f"sf {model} 1M, 1 thread"])["outputs"]
        theirs = json.loads(outputs[f"numpy {model} 1M"])["outputs"]
        for node, t in theirs.items():
            o = ours[node]
            se = (o["sem"] ** 2 + (t["std"] / 1000) ** 2) ** 0.5
            z = (o["mean"] - t["mean"]) / se if se > 0 else 0.0
            print(f"{model}.{node}: ours {o['mean']:.6g} numpy {t['mean']:.6g} ({z:+.2f} SE)"
                  + ("" if abs(z) <= 3 else "  <-- differs"))


if __name__ == "__main__":
    main()
