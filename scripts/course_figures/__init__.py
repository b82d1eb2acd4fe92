"""Lesson 2's figures: recorded data (text_generation_inference/figures/data/*.json) drawn by matplotlib.

config.py holds every name, path, budget and drawing constant; records.py reads and writes the data
files (with the command, date and machine that recorded them); draw_*.py draw one figure each from
its data and return the matplotlib Figure, so tests can compare what is plotted with what was recorded.
`make figures` draws them all (scripts/draw_figures.py); `make record-figures` re-records the data
(benchmarks/figures/record_<name>.py). benchmarks/README.md, "Figures of lesson 2".
"""
