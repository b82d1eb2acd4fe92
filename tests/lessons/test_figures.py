"""Lesson 2's figures: each is redrawn from its recorded data and what is plotted must be that data.

Compares the matplotlib objects (bar positions and heights, line data, tick labels, texts), never the
image bytes, which differ across fonts and library versions. Also: every figure has its PNG, its data
names the command that recorded it, and captions.json has a caption and alt text in both languages.
"""

from __future__ import annotations

import math

import pytest
from matplotlib.colors import to_rgba

from figures_helpers import OPTIONAL, bars, config, draw, records

PRESENT = [n for n in config.NAMES if n not in OPTIONAL or records.data_path(n).is_file()]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("name", PRESENT)
def test_each_figure_has_its_data_command_and_png(name: str) -> None:
    record = records.read(name)                                          # raises on a malformed file
    assert record, f"{name}: empty data"
    assert (config.FIGURES_DIR / f"{name}.png").is_file(), f"{name}.png missing: run `make figures`"


def test_captions_cover_every_figure_in_both_languages() -> None:
    captions = records.captions()
    for name in config.NAMES:
        for lang in config.LANGUAGES:
            entry = captions[name][lang]
            assert entry["caption"].strip() and entry["alt"].strip(), f"{name} {lang}: empty caption or alt"


def test_batching_timeline_plots_every_recorded_step() -> None:
    data = records.read("batching_timeline")
    fig = draw("batching_timeline")
    for ax, arm in zip(fig.axes, ("static", "continuous")):
        rows = [t.get_text() for t in ax.get_yticklabels()]
        assert rows == data["requests"]
        plotted = sorted((label, round(x), rows[round(y)]) for label, x, y, _, _ in
                         [(lb, x, y + h / 2, w, h) for lb, x, y, w, h in bars(ax)])
        recorded = sorted((item["kind"], s, item["request"]) for s, step in enumerate(data[arm]["steps"])
                          for item in step)
        assert plotted == recorded, arm
        assert f"{data[arm]['num_steps']} engine steps" in ax.get_title()
    assert data["continuous"]["num_steps"] < data["static"]["num_steps"], "continuous batching saved no step"


def test_block_table_plots_each_requests_blocks_and_the_shared_ones() -> None:
    data = records.read("block_table")
    ax = draw("block_table").axes[0]
    texts = [(round(t.get_position()[1]), t.get_text()) for t in ax.texts]
    for row, req in enumerate(data["requests"].values()):
        assert [text for r, text in texts if r == row] == [str(b) for b in req["block_table"]]
    shared_colour = to_rgba(config.SHARED_COLOUR)
    shared = [p for c in ax.containers for p in c.patches if p.get_facecolor() == shared_colour]
    refs = data["ref_counts"]
    expected = sum(refs[str(b)] > 1 for req in data["requests"].values() for b in req["block_table"])
    assert len(shared) == expected > 0
    a, b = data["requests"]["A"], data["requests"]["B"]
    hits = b["cached_tokens"] // data["block_size"]
    assert b["block_table"][:hits] == a["block_table"][:hits], "B's prefix hits are not A's blocks"


def test_chunked_prefill_stall_plots_the_recorded_gaps() -> None:
    data = records.read("chunked_prefill_stall")
    ax = draw("chunked_prefill_stall").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("a ")}
    for arm, label_start in (("unchunked", "chunked prefill off"), ("chunked", "chunked prefill on")):
        (line,) = [line for label, line in lines.items() if label.startswith(label_start)]
        gaps = data["arms"][arm]["gaps_s"]
        assert all(close(y, g) for y, g in zip(line.get_ydata(), gaps)) and len(line.get_ydata()) == len(gaps)
    arms = data["arms"]
    assert arms["unchunked"]["max_gap_s"] > arms["chunked"]["max_gap_s"], "the recorded run shows no stall"


def test_throughput_knee_plots_every_level() -> None:
    data = records.read("throughput_knee")
    ax = draw("throughput_knee").axes[0]
    (line,) = ax.get_lines()
    levels = data["levels"]
    assert list(line.get_xdata()) == [lv["output_tokens_per_s"] for lv in levels]
    assert list(line.get_ydata()) == [lv["e2e_s"]["p90"] for lv in levels]
    assert [t.get_text() for t in ax.texts] == [str(lv["concurrency"]) for lv in levels]
    assert all(lv["failed"] == 0 for lv in levels)


def test_decode_bandwidth_plots_bound_and_measurement() -> None:
    data = records.read("decode_bandwidth")
    ax = draw("decode_bandwidth").axes[0]
    by_label: dict[str, list[float]] = {}
    for label, _, _, _, height in bars(ax):
        by_label.setdefault(label, []).append(height)
    arms = data["arms"]
    assert by_label["measured, batch 1"] == [a["tokens_per_s"] for a in arms]
    bound = [data["bandwidth"]["read_bytes_per_s"] / a["weight_bytes"] for a in arms]
    assert all(close(x, y) for x, y in zip(by_label["bound: read bandwidth / weight bytes"], bound))
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == [a["dtype"] for a in arms]


@pytest.mark.skipif("router_hit_ratio" not in PRESENT, reason="no gateway benchmark results recorded yet")
def test_router_hit_ratio_plots_each_policy() -> None:
    data = records.read("router_hit_ratio")
    ax = draw("router_hit_ratio").axes[0]
    heights = [height for _, _, _, _, height in bars(ax)]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(data["policies"])
    assert all(close(h, p["hit_ratio"] * 100) for h, p in zip(heights, data["policies"].values()))


def test_a_malformed_data_file_is_refused(tmp_path) -> None:
    path = records.data_path("block_table", tmp_path)
    path.write_text('{"figure": "block_table", "version": 1, "meta": {"command": ""}, "data": {}}')
    with pytest.raises(ValueError, match="meta.command is empty"):
        records.read("block_table", tmp_path)
    with pytest.raises(FileNotFoundError, match="make record-figures"):
        records.read("throughput_knee", tmp_path)
