"""Every number the exercise checks use, in one place: loads, margins, tolerances, timeouts.

The margins are sized for a busy 2-core machine (CI) and the bundled `tiny-instruct` model; each
constant says what it bounds. README.md, "Exercises".
"""

from __future__ import annotations

from ..scale_out.workload import WorkloadConfig

#: The environment variable that makes `exN.fill()` run the worked solution (CI's second notebook run).
ENV_SOLUTIONS = "COURSE_SOLUTIONS"
LANGUAGES = ("en", "zh")

#: Upper bound on any single HTTP call a check makes (seconds); only reached when something hangs.
HTTP_TIMEOUT_S = 120.0
#: How long a check waits for a held model to be reached, or for a state to appear (seconds).
WAIT_S = 60.0
#: Polling interval while a check waits for a held server to reach a state (seconds).
POLL_S = 0.05
#: A /health probe must answer within this while generations are held (seconds). A server whose event
#: loop is blocked never answers while the model is held, so this only bounds the wait.
HEALTH_PROBE_S = 10.0

# ---- lesson 1, exercise 2: generation settings -------------------------------------------------
#: Prompts: an open question (deterministic, varied) and one whose greedy answer is long (short).
OPEN_PROMPT = "Tell me something."
LONG_ANSWER_PROMPT = "Who are you?"
#: The "short" goal: at most this many generated tokens.
SHORT_MAX_TOKENS = 8
#: Runs per goal: deterministic settings must give one text over these runs (global RNG reseeded
#: between runs), varied ones at least VARIED_MIN_DISTINCT texts (seeds 0.. so the check is repeatable).
GOAL_RUNS = 4
VARIED_MIN_DISTINCT = 2
#: Length of the deterministic and varied replies the check asks for (tokens).
GOAL_NEW_TOKENS = 12

# ---- lesson 1, exercise 3: web server ----------------------------------------------------------
#: A max_new_tokens far above any sensible bound: the server must reject it with 422.
HUGE_MAX_NEW_TOKENS = 100_000
#: Forward passes the check lets an unbounded request run before stopping it (it cannot hang).
FORWARD_LIMIT = 80
#: Concurrent /ask requests held while /health is probed.
HELD_REQUESTS = 2
#: While the first request's forward pass is held, how long the check gives the second request to reach
#: the model too (seconds). With a lock it never does, so a correct answer always passes; without one it
#: arrives within milliseconds (a thread start), so only a machine stalled this long would miss it.
LOCK_PROBE_S = 3.0

# ---- lesson 2, exercise 1: deployment ----------------------------------------------------------
#: The limits the exercise asks for (TGI launcher flags).
DEPLOY_LIMITS = {"max_concurrent_requests": 4, "max_input_tokens": 200, "max_total_tokens": 256}
#: Words in the over-long prompt (each is at least one token, so it exceeds max_input_tokens).
LONG_PROMPT_WORDS = 400

# ---- lesson 2, exercise 2: tuning --------------------------------------------------------------
#: The load both arms get: `requests` at `concurrency`, prompts of `prompt_tokens`, `max_new_tokens`.
TUNE_LOAD = {"requests": 8, "concurrency": 8, "prompt_tokens": 16, "max_new_tokens": 64}
#: Rounds per arm, interleaved (baseline, tuned, baseline, ...); each arm keeps its best round.
TUNE_ROUNDS = 2
#: A predicted change counts only if the measured ratio is at least this far from 1 (1.5 = 50%).
#: With the bundled model on a busy 2-core machine, max_batch_size=1 against the default measured TTFT
#: (server histograms) x16.0 and x21.7 at 64 new tokens: requests wait for whole generations. The
#: clients' throughput moved from x0.50 to x2.70: they share the interpreter with the servers, and
#: per-sequence Python work, not matrix maths, sets a 0.8M-parameter model's step time.
TUNE_MARGIN = 1.5
#: Budget flags a learner may change (TGI launcher names; chunked prefill arrives with engine v2).
BUDGET_FLAGS = ("max_batch_size", "max_batch_prefill_tokens", "max_batch_total_tokens",
                "max_concurrent_requests", "waiting_served_ratio", "max_waiting_tokens")
#: What a prediction may name: bench result keys, and the two directions.
TUNE_METRICS = ("output_tokens_per_s", "ttft_s", "itl_s")
DIRECTIONS = ("up", "down")

# ---- lesson 2, exercise 3: monitoring ----------------------------------------------------------
#: The held state the gauge check builds: this batch limit and this many requests in all.
GAUGE_BATCH = 2
GAUGE_REQUESTS = 5
#: Long enough that no held request finishes before the state is read (tokens).
GAUGE_NEW_TOKENS = 8
#: Forward passes the check lets through, one at a time, to reach the held state.
GAUGE_MAX_STEPS = 40
#: After each pass, how long the check waits for the gauges to show the held state (seconds).
GAUGE_SETTLE_S = 0.5
#: TTFT load: streaming requests at this concurrency, this many new tokens each (long enough that the
#: whole request takes far longer than its first token).
TTFT_LOAD = {"requests": 8, "concurrency": 4, "prompt_tokens": 16, "max_new_tokens": 64}
#: Histogram TTFT (queue p50 + prefill p50) agrees with client TTFT p50 when it lies between
#: client - TTFT_BELOW_S (clients also pay for HTTP, validation and tokenisation: about 50 ms on a busy
#: 2-core machine with the bundled model) and TTFT_FACTOR * client + TTFT_ABOVE_S (bucket interpolation
#: can round each quantile up to its bucket's edge; buckets in server/metrics.py). A whole-request
#: duration is several times the TTFT at this length, so it lands above.
TTFT_BELOW_S = 0.15
TTFT_FACTOR = 2.0
TTFT_ABOVE_S = 0.02
#: Overload: the replica admits this many; the check sends this many more, held this long after
#: each of them has had its first 429 (a retry policy must outlast it).
OVERLOAD_LIMIT = 2
OVERLOAD_EXTRA = 4
OVERLOAD_HOLD_S = 1.0
OVERLOAD_NEW_TOKENS = 8

# Exercise 3, part 3 (prefix_picker.py): the gateway's multi-tenant workload, smaller, on three replicas.
#: 4 system prompts x 6 questions, seeded shuffle; the learner's picker must beat round-robin by this margin.
PICKER_WORKLOAD = WorkloadConfig(tenants=4, questions=6, system_words=60, max_tokens=4, seed=0)
PICKER_CONCURRENCY = 4
PICKER_MARGIN = 0.10
#: At most this share of the requests on one replica (4 prompts over 3 replicas: 2 prompts = 0.5 at best).
PICKER_MAX_SHARE = 0.6

# ---- lesson 2, exercise 5: memory sizing and the cost of a million tokens (offline) ----------------------
#: The model sized: Llama-3.1-8B (sizing.LLAMA_31_CONFIGS), its KV cache in bfloat16, one 80 GB GPU of which the
#: engine may use SIZING_UTILIZATION (vLLM's default --gpu-memory-utilization), sequences of SIZING_CONTEXT tokens.
SIZING_MODEL = "Llama-3.1-8B"
SIZING_DTYPE = "bfloat16"
SIZING_GPU_GIB = 80
SIZING_UTILIZATION = 0.9
SIZING_CONTEXT = 8192
#: Measured output of a server to price (tokens/s), and the price it runs at (sizing.PRICES key).
SIZING_TOKENS_PER_S = 2400.0
SIZING_PRICE = "h100"
#: Relative tolerance on each answer (rounding on the way is fine; a wrong formula is off by 2x or more).
SIZING_REL_TOL = 0.02
