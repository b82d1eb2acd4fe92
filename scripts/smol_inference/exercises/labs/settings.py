"""Every number the engine labs use, in one place (README.md, "Exercises")."""

from __future__ import annotations

#: One call into the learner's code may run this long (seconds) before it counts as an endless loop.
LEARNER_CALL_S = 2.0
#: Engine steps a lab run may take before it counts as stuck (a planner that never runs anything).
MAX_STEPS = 400
#: torch threads while a lab runs the bundled model (one is fastest for it on a busy CPU).
TORCH_THREADS = 1
#: Tokens per KV block in the labs (small, so short prompts span several blocks).
BLOCK_SIZE = 4
#: KV pool (tokens) and per-request limit of the lab engine (prompt + new tokens of every lab fit).
POOL_TOKENS = 512
MAX_TOTAL_TOKENS = 64
#: New tokens per request in the labs (greedy, compared with transformers' generate).
NEW_TOKENS = 8
#: Prompts (plain text, no chat template): two share a long beginning, one differs from the start.
SHARED = "The quick brown fox jumps over the lazy dog near the river bank"
PROMPTS = (SHARED + " and then", SHARED + " while the cat", "Once upon a time in a land far away there")
#: Step lab: prompt tokens per step, sequences per batch, and at which step each prompt arrives.
STEP_PREFILL_TOKENS = 10
STEP_BATCH_SIZE = 2
ARRIVALS = (0, 0, 1, 3)
#: Preemption lab: a KV pool this many tokens large, so that the four requests cannot all fit (it preempts
#: twice, with four and three running).
PREEMPT_POOL_TOKENS = 96
PREEMPT_NEW_TOKENS = 12
#: The step lab's fourth prompt (shorter: it fits in one chunk).
SHORT_PROMPT = "Hello there, how are you"
