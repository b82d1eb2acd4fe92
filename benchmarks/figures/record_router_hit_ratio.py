"""Copy the prefix-cache hit ratio per routing policy from the SGLang Model Gateway benchmark's results.

The gateway benchmark (benchmarks/results_recorded/gateway_policies.json) sends the same shared-prefix
traffic through the SGLang Model Gateway to several course-server workers once per policy. Its schema:
{"policies": {"round_robin": {"hit_ratio": float, "ttft_median_s": float}, "power_of_two": {...},
"cache_aware": {...}}, "command": str, ...}. This script keeps those numbers and the gateway benchmark's
own command (the figure's data file then names both commands).

    python benchmarks/figures/record_router_hit_ratio.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from figures_common import config
from course_figures import records


def record(source: Path) -> dict[str, Any]:
    if not source.is_file():
        raise SystemExit(f"{source} is missing: run the SGLang gateway benchmark first (benchmarks/README.md)")
    raw = json.loads(source.read_text())
    policies = raw.get("policies")
    if not isinstance(policies, dict):
        raise SystemExit(f"{source}: no 'policies' object")
    kept: dict[str, dict[str, float]] = {}
    for name in config.ROUTER_POLICIES:
        entry = policies.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("hit_ratio"), (int, float)):
            raise SystemExit(f"{source}: policy {name!r} has no numeric hit_ratio")
        if not 0.0 <= entry["hit_ratio"] <= 1.0:
            raise SystemExit(f"{source}: policy {name!r} hit_ratio {entry['hit_ratio']} is not in [0, 1]")
        kept[name] = {"hit_ratio": float(entry["hit_ratio"]), "ttft_median_s": entry.get("ttft_median_s")}
    return {"policies": kept, "source": str(source.relative_to(config.ROOT) if source.is_relative_to(config.ROOT)
                                            else source),
            "source_command": raw.get("command"),
            "source_meta": {k: v for k, v in raw.items() if k not in ("policies", "command")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=config.GATEWAY_RESULTS)
    parser.add_argument("--out-dir", type=Path, default=None, help="default: text_generation_inference/figures/data")
    args = parser.parse_args(argv)
    data = record(args.source.resolve())
    path = records.write("router_hit_ratio", data, args.out_dir, note="copied from the gateway benchmark's results",
                         argv=None if argv is None else [__file__, *argv])
    print(", ".join(f"{k} {v['hit_ratio']:.0%}" for k, v in data["policies"].items()), f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
