"""`make bench`: every benchmark under bench/, one after the other, each printing its own figures."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

BENCHMARKS = sorted(p for p in Path(__file__).parent.glob("*.py") if p.name not in {"run.py"} and not p.name.startswith("_"))

if __name__ == "__main__":
    selected = [p for p in BENCHMARKS if not sys.argv[1:] or p.stem in sys.argv[1:]]
    for path in selected:
        print(f"\n== {path.stem} ==", flush=True)
        saved = sys.argv
        sys.argv = [str(path)]
        try:
            runpy.run_path(str(path), run_name="__main__")
        finally:
            sys.argv = saved
