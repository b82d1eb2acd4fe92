"""Engine labs: the learner writes four parts of the course engine and the checks run them inside it.

Each lab plugs the learner's object into the real engine through one seam
(smol_inference/server/engine/seams.py) and runs the bundled model: block allocator, prefix-cache
keys, one scheduler step, the preemption victim; optionally a batched top-k / top-p filter, compared
with the engine's sampling warpers. guard.py bounds the learner's code in time,
harness.py runs the engine step by step and records what it decided. notebooks/engine_labs.ipynb.
"""
