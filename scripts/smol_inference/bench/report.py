"""Turns request records into the numbers lesson 2 reads: throughput, latency percentiles, errors.

Percentiles interpolate linearly between order statistics (numpy's default "linear" method).
Throughput counts the tokens the server reports when it reports them (else the tokens counted) over
the level's wall time. The plot shows output tokens/s and p90 latency against concurrency: the "knee"
where throughput stops growing while latency keeps climbing is what the tuning exercise looks for.
Taught in text_generation_inference/tune_and_measure.md, "Tuning: a concurrency sweep".
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from .runner import RequestRecord

QUANTILES = (0.5, 0.9, 0.99)


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of `values` by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: list[float]) -> dict[str, float | None]:
    """mean, p50, p90, p99 (seconds), None where there is no value."""
    stats: dict[str, float | None] = {"mean": sum(values) / len(values) if values else None}
    for q in QUANTILES:
        stats[f"p{round(q * 100)}"] = percentile(values, q)
    return stats


def summarize(records: list[RequestRecord], duration_s: float, concurrency: int) -> dict[str, Any]:
    """The JSON entry of one concurrency level."""
    ok = [r for r in records if r.ok]
    counted = sum(r.tokens_counted for r in ok)
    reported_all = all(r.tokens_reported is not None for r in ok)
    reported = sum(r.tokens_reported or 0 for r in ok) if reported_all else None
    output_tokens = reported if reported is not None else counted
    duration_s = max(duration_s, 1e-9)
    return {
        "concurrency": concurrency,
        "requests": len(records),
        "completed": len(ok),
        "failed": len(records) - len(ok),
        "errors": dict(sorted(Counter(r.error_type for r in records if not r.ok).items())),
        "duration_s": duration_s,
        "requests_per_s": len(ok) / duration_s,
        "output_tokens": output_tokens,
        "output_tokens_counted": counted,
        "output_tokens_reported": reported,
        "input_tokens_reported": (sum(r.input_tokens_reported or 0 for r in ok)
                                  if ok and all(r.input_tokens_reported is not None for r in ok) else None),
        "output_tokens_per_s": output_tokens / duration_s,
        "finish_reasons": dict(sorted(Counter(r.finish_reason for r in ok if r.finish_reason).items())),
        "ttft_s": distribution([r.ttft_s for r in ok if r.ttft_s is not None]),
        "itl_s": distribution([gap for r in ok for gap in r.token_gaps_s]),
        "e2e_s": distribution([r.e2e_s for r in ok if r.e2e_s is not None]),
        "first_errors": [f"{r.error_type}: {r.error}" for r in records if not r.ok][:3],
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def format_table(levels: list[dict[str, Any]]) -> str:
    """A plain-text table, one row per concurrency level (latencies in milliseconds)."""
    header = (f"{'conc':>4} {'ok':>5} {'err':>4} {'req/s':>7} {'tok/s':>8} {'ttft p50':>9} {'ttft p90':>9} "
              f"{'itl p50':>8} {'e2e p50':>8} {'e2e p90':>8} {'e2e p99':>8}  errors")
    rows = [header]
    for lv in levels:
        errors = ", ".join(f"{k}={v}" for k, v in lv["errors"].items()) or "-"
        rows.append(f"{lv['concurrency']:>4} {lv['completed']:>5} {lv['failed']:>4} {lv['requests_per_s']:>7.2f} "
                    f"{lv['output_tokens_per_s']:>8.1f} {_ms(lv['ttft_s']['p50']):>9} {_ms(lv['ttft_s']['p90']):>9} "
                    f"{_ms(lv['itl_s']['p50']):>8} {_ms(lv['e2e_s']['p50']):>8} {_ms(lv['e2e_s']['p90']):>8} "
                    f"{_ms(lv['e2e_s']['p99']):>8}  {errors}")
    return "\n".join(rows)


def write_json(result: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def plot(levels: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Throughput and p90 latencies vs concurrency, side by side, saved as an image (PNG, SVG, ...)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [lv["concurrency"] for lv in levels]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(xs, [lv["output_tokens_per_s"] for lv in levels], marker="o")
    left.set(xlabel="concurrent requests", ylabel="output tokens / s", title="Throughput")
    left.set_ylim(bottom=0)
    for key, label in (("e2e_s", "end-to-end p90"), ("ttft_s", "time to first token p90")):
        right.plot(xs, [(lv[key]["p90"] or math.nan) * 1000 for lv in levels], marker="o", label=label)
    right.set(xlabel="concurrent requests", ylabel="milliseconds", title="Latency (p90)")
    right.legend()
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.set_xticks(xs, [str(x) for x in xs])
        axis.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
