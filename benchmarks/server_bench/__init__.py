"""Modules of benchmarks/bench_server.py (served servers, arms, workloads, report)."""
