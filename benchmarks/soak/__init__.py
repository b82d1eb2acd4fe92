"""Modules of benchmarks/soak_server.py (the request mix, the concurrent clients, the summary and its checks)."""
