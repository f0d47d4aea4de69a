"""Cold start: process start to the first 200 from /readyz, with all three specs loaded.

Runs `tollgate serve` on a fresh SQLite database (migrations included) and on an existing one,
`--runs` times each, and prints the median and worst in seconds. Goal: under 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_start(var_dir: Path) -> float:
    port = _free_port()
    env = dict(os.environ, TOLLGATE_VAR_DIR=str(var_dir), TOLLGATE_LOG_LEVEL="WARNING")
    env.pop("TOLLGATE_DATABASE_URL", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "tollgate"), "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError("server exited before it was ready")
            if time.perf_counter() - started > 60:
                raise RuntimeError("server not ready after 60 s")
            time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args([] if __name__ != "__main__" else None)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        fresh = []
        for run in range(args.runs):
            var_dir = Path(scratch) / f"fresh{run}"
            fresh.append(one_start(var_dir))
        warm_dir = Path(scratch) / "fresh0"
        warm = [one_start(warm_dir) for _ in range(args.runs)]
        shutil.rmtree(scratch, ignore_errors=True)
    results["cold start, new database (s, median)"] = statistics.median(fresh)
    results["cold start, new database (s, worst)"] = max(fresh)
    results["cold start, existing database (s, median)"] = statistics.median(warm)
    results["cold start, existing database (s, worst)"] = max(warm)
    for name, value in results.items():
        print(f"{name:<45} {value:.3f}")
    return results


if __name__ == "__main__":
    main()
