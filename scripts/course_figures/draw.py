"""Draw every figure of lesson 2 from its recorded data: `make figures` (scripts/draw_figures.py).

A figure whose data file is missing is reported and skipped when it is optional (the router figure needs
the gateway benchmark's results); any other missing file fails.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from . import config, records
from .draw_engine import batching_timeline, block_table
from .draw_serving import chunked_prefill_stall, decode_bandwidth, router_hit_ratio, throughput_knee

DRAWERS: dict[str, Callable[[dict[str, Any]], Figure]] = {
    "batching_timeline": batching_timeline, "block_table": block_table,
    "chunked_prefill_stall": chunked_prefill_stall, "throughput_knee": throughput_knee,
    "decode_bandwidth": decode_bandwidth, "router_hit_ratio": router_hit_ratio}
OPTIONAL = config.OPTIONAL_FIGURES


def draw(name: str, data_dir: Path | None = None) -> Figure:
    """Figure `name` drawn from its data file."""
    return DRAWERS[name](records.read(name, data_dir))


def save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=config.DPI, metadata={"Software": None})
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(config.NAMES), help="figures to draw (default: all)")
    parser.add_argument("--data-dir", type=Path, default=config.DATA_DIR)
    parser.add_argument("--out-dir", type=Path, default=config.FIGURES_DIR)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    for name in args.names:
        if name not in DRAWERS:
            parser.error(f"unknown figure {name!r}; known: {', '.join(DRAWERS)}")
        if name in OPTIONAL and not records.data_path(name, args.data_dir).is_file():
            print(f"{name}: skipped, no data yet ({records.data_path(name, args.data_dir)})")
            continue
        print(f"{name}: {save(draw(name, args.data_dir), args.out_dir / f'{name}.png')}")
    print(f"drew in {time.perf_counter() - start:.1f} s")
    return 0
