#!/usr/bin/env bash
# One prepared GPU check of the course server's engine (issue 16), under 8 minutes on one H200:
#   1. correctness: greedy tokens with chunked prefill / prefix caching on and off == transformers' generate
#      (float32 on the device; benchmarks/gpu_smoke.py);
#   2. bench_server.py --device cuda --dtype bfloat16, the H200 workload of issue 16 (SmolLM2-135M
#      architecture, random weights, ~376-token prompts, 128 new tokens): the course server at 1 client,
#      then at 256 clients beside static `model.generate` on 256 prompts and transformers' `generate_batch`
#      on 256 requests;
#   3. summary.json / summary.md in $OUT.
# The GPU image has torch and transformers but no HTTP stack: make wheels/ here first
# (bash benchmarks/gpu_wheels.sh) and carry it; it is installed with --no-index.
#   OUT=/some/dir bash benchmarks/gpu_check.sh
#   GPU_CHECK_SMOKE=1 bash benchmarks/gpu_check.sh    # the same plumbing on CPU with tiny sizes (CI-able)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
if [ -d wheels ] && ! "$PY" -c "import fastapi, uvicorn, prometheus_client, httpx, psutil, llguidance, jsonschema" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --find-links wheels/ fastapi uvicorn prometheus-client httpx psutil llguidance jsonschema \
    || { echo "gpu_check: installing wheels/ failed" >&2; exit 2; }
fi
if [ "${GPU_CHECK_SMOKE:-0}" = "1" ]; then
  DEVICE=cpu; DTYPE=float32; LAYERS=2; NEW=4; PROMPT=24; BIG=4; REQ1=2; MAXTOTAL=256; ARCH_ARGS=(--model scripts/smol_inference/assets/tiny-instruct)
  BASELINES=static   # transformers' generate_batch takes minutes on CPU
  SLOW=4             # a shared CPU is slow: every time limit x4
  PREFILL=128
else
  DEVICE=cuda; DTYPE=bfloat16; LAYERS=4; NEW=128; PROMPT=376; BIG=256; REQ1=4; MAXTOTAL=1024; ARCH_ARGS=(--arch smollm2-135m)
  BASELINES=static,generate_batch; SLOW=1
  PREFILL=4096       # TGI's GPU default prefill budget: 256 prompts of ~376 tokens in ~24 steps
fi
echo "gpu_check: device $DEVICE, dtype $DTYPE, out $OUT"
"$PY" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" | tee "$OUT/versions.txt"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv | tee -a "$OUT/versions.txt"

status=0
timeout $((100 * SLOW)) "$PY" benchmarks/gpu_smoke.py --device "$DEVICE" --layers "$LAYERS" --max-new-tokens 8 \
  --output "$OUT/correctness.json" > "$OUT/correctness.log" 2>&1 || { echo "correctness: FAILED (see correctness.log)"; status=1; }
tail -3 "$OUT/correctness.log"

COMMON=(--device "$DEVICE" --dtype "$DTYPE" --prompt-tokens "$PROMPT" --max-new-tokens "$NEW" --max-total-tokens "$MAXTOTAL"
        --startup-timeout 180 --request-timeout 240 "${ARCH_ARGS[@]}")
timeout $((120 * SLOW)) "$PY" benchmarks/bench_server.py "${COMMON[@]}" --arms course --concurrency 1 --requests "$REQ1" \
  --output "$OUT/bench_1_client.json" > "$OUT/bench_1_client.log" 2>&1 || { echo "bench 1 client: FAILED"; status=1; }
tail -4 "$OUT/bench_1_client.log"
timeout $((150 * SLOW)) "$PY" benchmarks/bench_server.py "${COMMON[@]}" --arms course --concurrency "$BIG" --requests "$BIG" --max-batch-prefill-tokens "$PREFILL" \
  --output "$OUT/bench_${BIG}_clients.json" > "$OUT/bench_${BIG}_clients.log" 2>&1 || { echo "bench $BIG clients: FAILED"; status=1; }
tail -4 "$OUT/bench_${BIG}_clients.log"
timeout $((180 * SLOW)) "$PY" benchmarks/bench_server.py "${COMMON[@]}" --arms "$BASELINES" --concurrency "$BIG" --requests "$BIG" \
  --output "$OUT/baselines_${BIG}.json" > "$OUT/baselines_${BIG}.log" 2>&1 || { echo "baselines: FAILED"; status=1; }
tail -4 "$OUT/baselines_${BIG}.log"

"$PY" - "$OUT" "$BIG" <<'PY'
import json, sys
from pathlib import Path
out, big = Path(sys.argv[1]), sys.argv[2]
def load(name):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None
one, many, smoke = load("bench_1_client.json"), load(f"bench_{big}_clients.json"), load("correctness.json")
base = load(f"baselines_{big}.json")
arm = lambda report, name: ((report or {}).get("arms") or {}).get(name) or {}
tps = lambda report, name: arm(report, name).get("output_tokens_per_s")
ttft = (arm(many, "course").get("ttft_s") or {}).get("p50")
summary = {
    "correctness_ok": (smoke or {}).get("ok"),
    "course_tok_s_1_client": tps(one, "course"), "course_tok_s_many": tps(many, "course"), "clients": int(big),
    "course_ttft_p50_s_many": ttft, "static_generate_tok_s": tps(base, "static"),
    "generate_batch_tok_s": tps(base, "generate_batch"),
    "targets": {"tok_s_256": 4000, "tok_s_1": 100, "ttft_p50_s": 2.0, "vs_static": 1.5, "vs_generate_batch": 2.7},
}
course, static, batch = summary["course_tok_s_many"], summary["static_generate_tok_s"], summary["generate_batch_tok_s"]
summary["course_vs_static"] = round(course / static, 2) if course and static else None
summary["course_vs_generate_batch"] = round(course / batch, 2) if course and batch else None
(out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
fmt = lambda v: "-" if v is None else (f"{v:,.1f}" if isinstance(v, float) else str(v))
rows = [("correctness (greedy == transformers, chunking/caching on+off)", summary["correctness_ok"], "true"),
        ("course server, 1 client (tok/s)", summary["course_tok_s_1_client"], ">= 100"),
        (f"course server, {big} clients (tok/s)", summary["course_tok_s_many"], ">= 4,000"),
        (f"course server, {big} clients, median TTFT (s)", ttft, "<= 2"),
        (f"static model.generate, {big} prompts (tok/s)", static, "-"),
        (f"transformers generate_batch, {big} requests (tok/s)", batch, "-"),
        ("course / static", summary["course_vs_static"], ">= 1.5"),
        ("course / generate_batch", summary["course_vs_generate_batch"], ">= 2.7")]
md = "| check | value | target |\n|---|---|---|\n" + "".join(f"| {a} | {fmt(b)} | {c} |\n" for a, b, c in rows)
(out / "summary.md").write_text(md)
print(md)
PY
exit $status
