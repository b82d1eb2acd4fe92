"""Correctness smoke for the engine on a device: greedy tokens with chunking and prefix caching on and off
must equal transformers' own `generate` (float32, so rounding cannot differ between chunk shapes).

Runs the engine in-process on a random-weight SmolLM2-135M architecture (4 layers by default), submits
prompts that share a prefix, and writes a JSON verdict. Used by benchmarks/gpu_check.sh.

    python benchmarks/gpu_smoke.py --device cuda --output smoke.json
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VARIANTS = {
    "default": {},
    "small-chunks": {"max_batch_prefill_tokens": 48},
    "no-prefix-cache": {"disable_prefix_caching": True},
    "no-chunking": {"disable_chunked_prefill": True},
}
WAIT_S = 300.0


def build(args: argparse.Namespace) -> tuple[Any, Any]:
    import torch
    from smol_inference import settings
    from smol_inference.models import architecture_config
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = architecture_config(args.arch)
    config.update(num_hidden_layers=args.layers)
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(config.pop("model_type"), **config),
                                             dtype=torch.float32)
    return model.to(args.device).eval(), AutoTokenizer.from_pretrained(settings.TINY_MODEL)


def run_engine(model: Any, tokenizer: Any, prompts: list[list[int]], max_new: int, flags: dict) -> dict[str, Any]:
    from smol_inference.server.config import ServerConfig
    from smol_inference.server.engine import Engine, SamplingParams, Sequence, StoppingParams

    engine = Engine(model, tokenizer, ServerConfig(max_total_tokens=1024, **flags).resolve(8192).engine_config())
    tokens: dict[int, list[int]] = {i: [] for i in range(len(prompts))}
    done = threading.Semaphore(0)

    def emit_for(i: int) -> Callable[[str, Any], None]:
        def emit(kind: str, payload: Any) -> None:
            if kind == "token":
                tokens[i].append(payload[0].id)
            if kind != "token" or payload[2]:
                done.release()
        return emit

    engine.start()
    start = time.perf_counter()
    try:
        for sequential in (False, True):                  # the second pass hits the prefix cache
            for i, ids in enumerate(prompts):
                tokens[i] = []
                engine.submit(Sequence(list(ids), SamplingParams(), StoppingParams(max_new), emit_for(i)))
                if sequential and not done.acquire(timeout=WAIT_S):
                    raise TimeoutError("engine did not answer")
            if not sequential:
                for _ in prompts:
                    if not done.acquire(timeout=WAIT_S):
                        raise TimeoutError("engine did not answer")
        time.sleep(0.2)
        return {"tokens": [tokens[i] for i in range(len(prompts))], "blocks_used_after": engine.pool.num_used,
                "prefix_hit_tokens": engine.pool.hits, "kv_tokens": engine.pool.num_blocks * engine.pool.block_size,
                "seconds": round(time.perf_counter() - start, 2)}
    finally:
        engine.stop(10)


def main(argv: list[str] | None = None) -> int:
    import copy

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--arch", default="smollm2-135m")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    model, tokenizer = build(args)
    reference_model = copy.deepcopy(model)
    shared = tokenizer("The sea is wide and deep. " * 20)["input_ids"]
    prompts = [shared + tokenizer(tail)["input_ids"] for tail in ("Tell me more.", "What colour is it?", "Hi")]
    prompts.append(tokenizer("A short one.")["input_ids"])
    expected = []
    with torch.inference_mode():
        for ids in prompts:
            out = reference_model.generate(torch.tensor([ids], device=args.device), max_new_tokens=args.max_new_tokens,
                                           min_new_tokens=args.max_new_tokens, do_sample=False, pad_token_id=0)
            expected.append(out[0, len(ids):].tolist())
    del reference_model
    results = {name: run_engine(model, tokenizer, prompts, args.max_new_tokens, flags)
               for name, flags in VARIANTS.items()}
    verdict = {name: {"matches_transformers": r["tokens"] == expected, **{k: v for k, v in r.items() if k != "tokens"}}
               for name, r in results.items()}
    ok = all(v["matches_transformers"] and v["blocks_used_after"] == 0 for v in verdict.values())
    ok = ok and verdict["default"]["prefix_hit_tokens"] > 0
    report = {"ok": ok, "device": args.device, "dtype": "float32", "torch": torch.__version__,
              "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None, "variants": verdict}
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
