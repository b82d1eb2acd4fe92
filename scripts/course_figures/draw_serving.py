"""Figures of measured serving runs: chunked-prefill stall, throughput knee, decode bandwidth, router hits.

Each function takes a figure's recorded `data` (records.read) and returns a matplotlib Figure.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from . import config


def chunked_prefill_stall(data: dict[str, Any]) -> Figure:
    """Gap before each streamed token (s) of the decoding request; the long prompt arrives at one token."""
    fig = Figure(figsize=config.WIDE)
    ax = fig.subplots()
    for arm, colour in (("unchunked", config.OFF_COLOUR), ("chunked", config.ON_COLOUR)):
        gaps = data["arms"][arm]["gaps_s"]
        label = ("chunked prefill off" if arm == "unchunked"
                 else f"chunked prefill on ({data['chunk_tokens']} tokens per step)")
        ax.plot(range(2, len(gaps) + 2), gaps, marker=".", color=colour, label=label)
    ax.axvline(data["arrival_token"], color=config.BOUND_COLOUR, linestyle="--",
               label=f"a {data['long_prompt_words']}-word prompt arrives")
    ax.set_xlabel("token of the streaming request")
    ax.set_ylabel("gap since the previous token (s)")
    ax.set_title("A long prompt arriving stalls the requests already decoding")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def throughput_knee(data: dict[str, Any]) -> Figure:
    """p90 end-to-end latency against output throughput, one point per concurrency level."""
    levels = data["levels"]
    fig = Figure(figsize=config.WIDE)
    ax = fig.subplots()
    xs = [lv["output_tokens_per_s"] for lv in levels]
    ys = [lv["e2e_s"]["p90"] for lv in levels]
    ax.plot(xs, ys, marker="o", color=config.MEASURED_COLOUR, label="p90 end-to-end latency")
    for lv, x, y in zip(levels, xs, ys):
        ax.annotate(f"{lv['concurrency']}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize="small")
    ax.set_xlabel("output tokens / s (all clients together)")
    ax.set_ylabel("p90 end-to-end latency (s)")
    ax.set_title("Concurrency sweep (numbers: concurrent clients): throughput flattens, latency climbs")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def decode_bandwidth(data: dict[str, Any]) -> Figure:
    """Per dtype: the tokens/s bound (bandwidth / weight bytes) beside the measured batch-1 decode speed."""
    arms = data["arms"]
    fig = Figure(figsize=config.WIDE)
    ax = fig.subplots()
    xs = range(len(arms))
    width = 0.4
    ax.bar([x - width / 2 for x in xs], [a["bound_tokens_per_s"] for a in arms], width, color=config.BOUND_COLOUR,
           label="bound: read bandwidth / weight bytes")
    ax.bar([x + width / 2 for x in xs], [a["tokens_per_s"] for a in arms], width, color=config.MEASURED_COLOUR,
           label="measured, batch 1")
    ax.set_xticks(list(xs), [f"{a['dtype']}\n{a['weight_bytes'] / 2**20:.0f} MiB of weights" for a in arms])
    ax.set_ylabel("decode tokens / s")
    gbs = data["bandwidth"]["read_bytes_per_s"] / 1e9
    threads = f"{data['threads']} thread" + ("s" if data["threads"] != 1 else "")
    ax.set_title(f"SmolLM2-135M decode at batch 1 ({threads}, {gbs:.1f} GB/s read)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def router_hit_ratio(data: dict[str, Any]) -> Figure:
    """Prefix-cache hit ratio (%) per routing policy behind the SGLang Model Gateway."""
    policies = data["policies"]
    fig = Figure(figsize=config.WIDE)
    ax = fig.subplots()
    names = list(policies)
    ax.bar(names, [policies[n]["hit_ratio"] * 100 for n in names], color=config.POLICY_COLOURS[:len(names)],
           label="all runs")
    runs = [(i, r * 100) for i, n in enumerate(names) for r in policies[n].get("runs_hit_ratio", [])]
    if runs:
        ax.plot([i for i, _ in runs], [r for _, r in runs], "k.", label="each run")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_ylabel("prefix-cache hit ratio (%)")
    ax.set_xlabel("routing policy")
    ax.set_ylim(0, 100)
    ax.set_title(f"Same shared-prefix traffic through the SGLang Model Gateway, {len(names)} routing policies")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
