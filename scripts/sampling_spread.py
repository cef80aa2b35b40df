#!/usr/bin/env python3
"""Spread of the mean and of p95 over seeds: random sampling against Latin hypercube.

p95 comes from the summary's quantile sketch, whose buckets are 1% wide: at 10,000
iterations its spread across seeds is partly that resolution, not sampling error.

Runs `scenarioforge run MODEL --iterations N --seed S --sampling X --format json` for every
seed and both samplings, and prints, per output, the standard deviation across seeds of its
mean and of its p95, and their ratio (random / Latin hypercube).

usage: python3 scripts/sampling_spread.py [--seeds 50] [--iterations 10000] MODEL.json...
(build first: cargo build --release -p scenarioforge-server)
"""
import argparse
import json
import os
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "scenarioforge")


def summaries(model, sampling, seeds, iterations):
    out = []
    for seed in range(seeds):
        text = subprocess.run(
            [BIN, "run", model, "--iterations", str(iterations), "--seed", str(seed),
             "--sampling", sampling, "--sample-size", "0", "--format", "json"],
            check=True, capture_output=True, text=True).stdout
        out.append(json.loads(text))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--iterations", type=int, default=10_000)
    p.add_argument("models", nargs="+")
    a = p.parse_args()
    for model in a.models:
        runs = {s: summaries(model, s, a.seeds, a.iterations)
                for s in ("random", "latin_hypercube")}
        print(f"\n{os.path.basename(model)}: {a.seeds} seeds x {a.iterations} iterations")
        print(f"{'output':10} {'sd(mean) random':>16} {'LHS':>10} {'ratio':>6}"
              f" {'sd(p95) random':>15} {'LHS':>10} {'ratio':>6}")
        for out in runs["random"][0]["outputs"]:
            sd = {}
            for s, rs in runs.items():
                stats = [r["outputs"][out] for r in rs]
                sd[s] = (statistics.stdev(x["mean"] for x in stats),
                         statistics.stdev(x["percentiles"]["p95"] for x in stats))
            r, l = sd["random"], sd["latin_hypercube"]
            ratio = lambda a, b: f"{a / b:6.1f}" if b > 0 else "   inf"
            print(f"{out:10} {r[0]:16.4g} {l[0]:10.4g} {ratio(r[0], l[0])}"
                  f" {r[1]:15.4g} {l[1]:10.4g} {ratio(r[1], l[1])}")


if __name__ == "__main__":
    main()
