"""Load test of ``thresher serve`` on loopback: latency percentiles and requests/s.

Usage: python bench/serve_load.py --index IX --corpus FILE.jsonl [--requests 4000]
                                  [--clients 4] [--seconds 60] [--port 8765]

Starts ``thresher serve IX`` on 127.0.0.1 (and stops it at the end), then sends one-page
``POST /query`` requests from ``--clients`` threads over keep-alive connections: half
pages of the corpus, half pages it never saw (their words shuffled). Bounded: it stops
after ``--requests`` requests or ``--seconds`` seconds, whichever comes first. Only
loopback is ever addressed.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"


def _wait(port: int, proc: subprocess.Popen[bytes], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    rng = random.Random(3)
    with args.corpus.open() as fh:
        rows = [json.loads(x) for x in itertools.islice(fh, 20000)]
    bodies = []
    for k in range(args.requests):
        r = rows[rng.randrange(len(rows))]
        text = r["text"]
        if k % 2:
            words = text.split()
            rng.shuffle(words)
            text = " ".join(words)
        bodies.append(json.dumps({"text": text, "url": r.get("url")}).encode())
    proc = subprocess.Popen([sys.executable, "-m", "thresher.cli", "serve", str(args.index),
                             "--host", HOST, "--port", str(args.port), "--quiet"])
    try:
        _wait(args.port, proc)
        warm = http.client.HTTPConnection(HOST, args.port, timeout=30)
        for body in bodies[:50]:
            warm.request("POST", "/query", body, {"content-type": "application/json"})
            warm.getresponse().read()
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        work = iter(bodies)
        stop_at = time.monotonic() + args.seconds

        def client() -> None:
            conn = http.client.HTTPConnection(HOST, args.port, timeout=30)
            while time.monotonic() < stop_at:
                with lock:
                    body = next(work, None)
                if body is None:
                    return
                t = time.perf_counter()
                conn.request("POST", "/query", body, {"content-type": "application/json"})
                response = conn.getresponse()
                response.read()
                took = time.perf_counter() - t
                with lock:
                    latencies.append(took)
                    errors[0] += response.status != 200

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        ms = np.array(latencies) * 1000
        print(f"{len(latencies):,} requests from {args.clients} clients in {wall:.1f} s: "
              f"{len(latencies) / wall:,.0f} requests/s, {errors[0]} errors; latency p50 "
              f"{np.percentile(ms, 50):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms, "
              f"p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
