"""The course server's lifecycle: the launcher (`smol-inference serve`), the in-process background server,
model loading, start-up and warm-up (startup.py), and graceful shutdown.
text_generation_inference/serve_and_query.md, "Setup"."""
