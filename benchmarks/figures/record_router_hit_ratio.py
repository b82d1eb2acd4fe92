"""Copy the prefix-cache hit ratio per routing policy from the SGLang Model Gateway benchmark's results.

The gateway benchmark (benchmarks/results_recorded/gateway_policies.json) sends the same shared-prefix
traffic through the SGLang Model Gateway to several course-server workers once per policy. Its schema:
{"policies": [{"policy": "round_robin", "router": "gateway", "prefix_cache_hit_ratio": float,
"median_ttft_s": float, "runs": [{"prefix_cache_hit_ratio": float, ...}, ...]}, ...], "command": str, ...}
(entries whose router is not "gateway" are left out); the object form {"policies": {"round_robin":
{"hit_ratio": float, "ttft_median_s": float}, ...}, "command": str} is read too. This script keeps those
numbers and the gateway benchmark's own command (the figure's data file then names both commands).

    python benchmarks/figures/record_router_hit_ratio.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from figures_common import config
from course_figures import records


def _entries(source: Path, raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Policy name -> its entry, from either form the gateway benchmark writes (list or object)."""
    policies = raw.get("policies")
    if isinstance(policies, list):              # [{"policy", "router", "prefix_cache_hit_ratio", ...}, ...]
        return {p["policy"]: {"hit_ratio": p.get("prefix_cache_hit_ratio"), "ttft_median_s": p.get("median_ttft_s"),
                              "runs": [r.get("prefix_cache_hit_ratio") for r in p.get("runs", [])]}
                for p in policies if isinstance(p, dict) and p.get("router", "gateway") == "gateway"}
    if isinstance(policies, dict):              # {"round_robin": {"hit_ratio", "ttft_median_s"}, ...}
        return policies
    raise SystemExit(f"{source}: no 'policies' list or object")


def record(source: Path) -> dict[str, Any]:
    if not source.is_file():
        raise SystemExit(f"{source} is missing: run the SGLang gateway benchmark first (benchmarks/README.md)")
    raw = json.loads(source.read_text())
    entries = _entries(source, raw)
    kept: dict[str, dict[str, Any]] = {}
    for name in config.ROUTER_POLICIES:
        entry = entries.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("hit_ratio"), (int, float)):
            raise SystemExit(f"{source}: policy {name!r} has no numeric hit_ratio")
        if not 0.0 <= entry["hit_ratio"] <= 1.0:
            raise SystemExit(f"{source}: policy {name!r} hit_ratio {entry['hit_ratio']} is not in [0, 1]")
        kept[name] = {"hit_ratio": float(entry["hit_ratio"]), "ttft_median_s": entry.get("ttft_median_s"),
                      "runs_hit_ratio": list(entry.get("runs") or [])}
    parts = source.parts
    shown = Path(*parts[parts.index("benchmarks"):]) if "benchmarks" in parts else source   # repo-relative
    return {"policies": kept, "source": str(shown), "source_command": raw.get("command"),
            "source_meta": {k: raw[k] for k in config.ROUTER_SOURCE_META if k in raw}}


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
