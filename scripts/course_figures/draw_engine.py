"""Figures of the course engine's own state: the batching timeline and the block table.

Each function takes a figure's recorded `data` (records.read) and returns a matplotlib Figure; nothing is
computed here that the data file does not hold, so a test can compare the drawing with the data.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from . import config

KIND_COLOURS = {"prefill": config.PREFILL_COLOUR, "decode": config.DECODE_COLOUR}


def batching_timeline(data: dict[str, Any]) -> Figure:
    """One row per request, one column per engine step: static batching above, continuous below."""
    names = data["requests"]
    rows = {name: i for i, name in enumerate(names)}
    fig = Figure(figsize=config.TALL)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, arm in zip(axes, ("static", "continuous")):
        steps = data[arm]["steps"]
        for kind, colour in KIND_COLOURS.items():
            cells = [(s, rows[item["request"]]) for s, step in enumerate(steps)
                     for item in step if item["kind"] == kind]
            ax.barh([r for _, r in cells], 1.0, left=[s for s, _ in cells], height=0.8, color=colour,
                    edgecolor="white", linewidth=0.3, label=kind)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_title(f"{arm} batching (batch size {data['batch_size']}): {data[arm]['num_steps']} engine steps")
        ax.set_ylabel("request")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].legend(loc="lower right", fontsize="small")
    axes[1].set_xlabel("engine step")
    fig.tight_layout()
    return fig


def block_table(data: dict[str, Any]) -> Figure:
    """Each request's block table as a row of pool block ids; blocks shared through the prefix cache stand out."""
    requests = data["requests"]
    refs = {int(k): v for k, v in data["ref_counts"].items()}
    fig = Figure(figsize=config.WIDE)
    ax = fig.subplots()
    for row, (name, req) in enumerate(requests.items()):
        table = req["block_table"]
        shared = [refs[b] > 1 for b in table]
        for kind, colour, flag in (("shared (reference count 2)", config.SHARED_COLOUR, True),
                                   ("this request's own", config.OWN_COLOUR, False)):
            slots = [i for i, s in enumerate(shared) if s is flag]
            ax.barh([row] * len(slots), 0.9, left=slots, height=0.6, color=colour, label=kind if row == 0 else None)
        for i, block in enumerate(table):
            ax.text(i + 0.45, row, str(block), ha="center", va="center")
    labels = [f"{name}: {r['prompt_tokens']} prompt tokens,\n{r['cached_tokens']} from the prefix cache"
              for name, r in requests.items()]
    ax.set_yticks(range(len(requests)), labels)
    ax.set_xticks(range(max(len(r["block_table"]) for r in requests.values()) + 1))
    ax.set_ylim(len(requests) - 1 + config.LEGEND_ROOM, -config.ROW_MARGIN)   # inverted, with room for the legend
    ax.set_xlabel(f"logical block (tokens {data['block_size']}*i to {data['block_size']}*i+{data['block_size'] - 1})"
                  "; the number is the pool block")
    ax.set_title(f"Block tables, {data['block_size']}-token blocks: the shared prefix is stored once")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
