"""int8 weight-only quantization (smol_inference.quantize) against float32 on SmolLM2-135M's architecture.

The lesson's block ("Quantization, hands-on") runs on the 0.8 M-parameter bundled model, whose layers are
too small for memory traffic to matter. This script asks the same three questions at the size of the
course's real model: a random-weight copy of SmolLM2-135M built locally (no download), float32 on CPU.
Arms alternate (A-B-A-B) in one process so that machine load weighs on both alike.

* size: bytes of the saved state dict (`quantize.stored_bytes`), both arms;
* answers: on the same prompt (teacher forcing), the relative error of the int8 model's logits and how
  often its top-1 token equals the float32 model's (random weights make near ties common, so this is a
  lower bound for a trained model);
* speed: decode tokens per second (greedy, `--new-tokens` each, best of `--repeats`).

    python benchmarks/bench_quantization.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from smol_inference import build_random_model
from smol_inference.quantize import quantize_int8, stored_bytes


def _decode(model: torch.nn.Module, ids: torch.Tensor, new_tokens: int) -> tuple[float, list[int]]:
    start = time.perf_counter()
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, do_sample=False)
    return time.perf_counter() - start, out[0, ids.shape[1]:].tolist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="smollm2-135m")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads; 1 is steadier when busy")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    full = build_random_model(args.arch, seed=0)
    small = quantize_int8(build_random_model(args.arch, seed=0))
    ids = torch.randint(3, 600, (1, args.prompt_tokens), generator=torch.Generator().manual_seed(0))
    _decode(full, ids, 2), _decode(small, ids, 2)  # warm-up
    best = {"float32": float("inf"), "int8": float("inf")}
    for _ in range(args.repeats):
        for name, model in (("float32", full), ("int8", small)):
            seconds, _ = _decode(model, ids, args.new_tokens)
            best[name] = min(best[name], seconds)
    with torch.no_grad():
        logits_f, logits_q = full(ids).logits[0], small(ids).logits[0]   # [prompt_tokens, vocab]
    top1 = (logits_f.argmax(-1) == logits_q.argmax(-1)).float().mean().item()
    result = {
        "arch": args.arch, "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "bytes": {"float32": stored_bytes(full), "int8": stored_bytes(small)},
        "tokens_per_s": {k: args.new_tokens / v for k, v in best.items()},
        "relative_logit_error": ((logits_q - logits_f).norm() / logits_f.norm()).item(),
        "top1_agreement": top1,
    }
    result["size_ratio"] = result["bytes"]["float32"] / result["bytes"]["int8"]
    result["speed_ratio_int8_over_float32"] = result["tokens_per_s"]["int8"] / result["tokens_per_s"]["float32"]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
