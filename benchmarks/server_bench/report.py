"""Ratios, the printed table and the machine's fp32 matmul peak for bench_server.py.

benchmarks/README.md, "Serving throughput".
"""

from __future__ import annotations

import time
from typing import Any

#: Issue 16's targets, as ratios measured in one run.
TARGETS = {"vs_batch_size_1": 5.0, "vs_transformers_serve": 1.5, "vs_static_batch": 1.0, "vs_generate_batch": 2.7,
           "matmul_peak_fraction": 0.30}
MATMUL_SIZE = 1024
MATMUL_REPEATS = 20


def matmul_peak_flops(device: str, dtype: str, threads: int | None) -> float:
    """Best FLOP/s of a square matmul on this device and dtype (the roofline for 'tokens x 2 x params')."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    a = torch.randn(MATMUL_SIZE, MATMUL_SIZE, dtype=getattr(torch, dtype), device=device)
    best = float("inf")
    for _ in range(MATMUL_REPEATS):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ a
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * MATMUL_SIZE ** 3 / best


def model_params(model_path: str) -> int:
    """Parameters of the served model (weights counted once; tied embeddings once)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_path))
    return sum(p.numel() for p in model.parameters())


def ratio(arms: dict[str, Any], num: str, den: str, key: str) -> dict[str, Any] | None:
    if num not in arms or den not in arms or not arms[den]["output_tokens_per_s"]:
        return None
    value = arms[num]["output_tokens_per_s"] / arms[den]["output_tokens_per_s"]
    return {"value": round(value, 2), "target": TARGETS[key], "met": value >= TARGETS[key], "of": f"{num} / {den}"}


def peak_fraction(arm: dict[str, Any] | None, params: int, peak: float) -> dict[str, Any] | None:
    """generated tokens/s x 2 x parameters over the matmul peak (issue 16: >= 0.30 at 32 clients, CPU)."""
    if not arm or not peak:
        return None
    value = arm["output_tokens_per_s"] * 2 * params / peak
    return {"value": round(value, 3), "target": TARGETS["matmul_peak_fraction"],
            "met": value >= TARGETS["matmul_peak_fraction"], "params": params, "peak_gflops": round(peak / 1e9, 1)}


def table(arms: dict[str, Any]) -> str:
    def ms(level: dict[str, Any], key: str) -> str:
        p50 = (level.get(key) or {}).get("p50")
        return "-" if p50 is None else f"{p50 * 1000:.0f}"

    header = (f"{'arm':<14} {'api':<10} {'ok':>4} {'tokens':>7} {'full':>5} {'seconds':>8} {'tok/s':>7} "
              f"{'ttft p50':>9} {'e2e p50':>8} {'rss MiB':>8} {'in tok':>7} {'load':>10}")
    rows = [header]
    for name, lv in arms.items():
        rss = (lv.get("rss_mib") or {}).get("peak", "-")
        rows.append(f"{name:<14} {lv['api']:<10} {lv['completed']:>4} {lv['output_tokens']:>7} "
                    f"{'yes' if lv['all_full_length'] else 'NO':>5} {lv['duration_s']:>8.1f} "
                    f"{lv['output_tokens_per_s']:>7.1f} {ms(lv, 'ttft_s'):>9} {ms(lv, 'e2e_s'):>8} {rss:>8} "
                    f"{lv.get('mean_input_tokens') or '-':>7} {'->'.join(f'{x:.1f}' for x in lv['loadavg_1min']):>10}")
    return "\n".join(rows)
