"""Batched sampler: `sample_batch` for the whole batch vs the old row-by-row `choose` loop, same logits, same run.

Logits are random [B, V] with V = 49,152 (SmolLM2's vocabulary), Gaussian with standard deviation 5: an
entropy of about 2.8 nats and a 90% nucleus of about 45 tokens, like a trained model's next-token
distribution ("mixed"); "mixed-flat" uses standard deviation 1 (entropy 10 nats, a 90% nucleus of 30,000
tokens), the worst case for top-p and typical-p. Every row has a 400-token prompt and 64 generated tokens,
and the rows cycle through a mix of parameters: greedy, greedy with repetition penalty, temperature +
top-p, temperature + top-k, typical-p, frequency penalty, all of them with top_n_tokens. "greedy" is a
batch of greedy requests without penalties (the fast path). The two arms alternate step by step (A-B-A-B) so that a
drift in machine load weighs on both alike; the figure is the median time of one step over the batch.
The baseline is the course server's previous sampler (sampling/sampler.py before the batched rewrite),
kept below as `old_choose`. A last table streams text through the previous detokeniser (decode every
generated id again per token) and the offset-based one (engine/detokenizer.py). Figures in
benchmarks/README.md, "Batched sampler".

    python benchmarks/bench_sampler.py                 # batch 16 and 64, 30 steps each
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from typing import Any

import torch

from smol_inference import settings
from smol_inference.server.engine import SamplingParams, Sequence, StoppingParams, TokenInfo
from smol_inference.server.engine.detokenizer import IncrementalDetokenizer
from smol_inference.server.sampling.sampler import sample_batch

VOCAB = 49_152                                     # SmolLM2's vocabulary size
PROMPT_TOKENS, GENERATED_TOKENS = 400, 64
#: workload -> (all greedy?, standard deviation of the random logits)
WORKLOADS = {"mixed": (False, 5.0), "mixed-flat": (False, 1.0), "greedy": (True, 5.0)}
MIX = [SamplingParams(), SamplingParams(repetition_penalty=1.1),
       SamplingParams(do_sample=True, temperature=0.7, top_p=0.9),
       SamplingParams(do_sample=True, temperature=0.8, top_k=50),
       SamplingParams(do_sample=True, typical_p=0.9), SamplingParams(do_sample=True, frequency_penalty=0.5),
       SamplingParams(do_sample=True, temperature=1.2, top_k=40, top_p=0.95, repetition_penalty=1.2)]
TOP_N = [0, 0, 0, 0, 0, 0, 5]


# ---- the baseline: the previous row-by-row sampler, unchanged in substance -------------------------
def _old_warp(scores: torch.Tensor, p: SamplingParams) -> torch.Tensor:
    if p.temperature != 1.0:
        scores = scores / p.temperature
    if 0 < p.top_k < scores.shape[0]:
        scores = scores.masked_fill(scores < torch.topk(scores, p.top_k).values[-1], float("-inf"))
    if p.top_p < 1.0:
        ascending, order = torch.sort(scores)
        drop = ascending.softmax(-1).cumsum(-1) <= 1 - p.top_p
        drop[-1] = False
        scores = scores.masked_fill(drop.scatter(0, order, drop), float("-inf"))
    if p.typical_p < 1.0:
        logp = scores.log_softmax(-1)
        probs = logp.exp()
        shifted = (-logp - (-torch.nan_to_num(logp * probs)).sum()).abs()
        _, order = torch.sort(shifted)
        last = int((probs.gather(0, order).cumsum(-1) < p.typical_p).sum())
        drop = torch.arange(scores.shape[0], device=scores.device) > last
        scores = scores.masked_fill(drop.scatter(0, order, drop), float("-inf"))
    return scores


def old_choose(logits: torch.Tensor, seq: Sequence) -> tuple[int, float, list[tuple[int, float]]]:
    """logits [V] -> (token, logprob, top): penalties, warpers, log-softmax, draw; one row."""
    p, scores = seq.sampling, logits.float()
    if p.repetition_penalty != 1.0 or p.frequency_penalty != 0.0:
        history = torch.tensor(seq.token_ids, device=scores.device)
        if p.repetition_penalty != 1.0:
            seen = scores.gather(0, history)
            seen = torch.where(seen < 0, seen * p.repetition_penalty, seen / p.repetition_penalty)
            scores = scores.scatter(0, history, seen)
        if p.frequency_penalty != 0.0:
            scores = scores - p.frequency_penalty * torch.bincount(history, minlength=scores.shape[0])
    if p.do_sample:
        scores = _old_warp(scores, p)
    scores = torch.nan_to_num(scores, nan=float("-inf"), posinf=torch.finfo(scores.dtype).max)
    log_probs = scores.log_softmax(-1)
    if p.do_sample:
        if seq.generator is None:
            seq.generator = torch.Generator(device=scores.device).manual_seed(p.seed)
        token = int(torch.multinomial(log_probs.exp(), 1, generator=seq.generator))
    else:
        token = int(scores.argmax())
    top = []
    if seq.top_n_tokens:
        values, ids = torch.topk(log_probs, seq.top_n_tokens)
        top = list(zip(ids.tolist(), values.tolist()))
    return token, float(log_probs[token]), top


# ---- the measurement -------------------------------------------------------------------------------
def make_batch(size: int, greedy: bool, vocab: int) -> list[Sequence]:
    rng = torch.Generator().manual_seed(size)
    seqs = []
    for row in range(size):
        params = SamplingParams() if greedy else MIX[row % len(MIX)]
        prompt = torch.randint(vocab, (PROMPT_TOKENS,), generator=rng).tolist()
        seq = Sequence(prompt, SamplingParams(**{**params.__dict__, "seed": row}),
                       StoppingParams(GENERATED_TOKENS * 2), emit=lambda *_: None,
                       top_n_tokens=0 if greedy else TOP_N[row % len(TOP_N)])
        generated = torch.randint(vocab, (GENERATED_TOKENS,), generator=rng).tolist()
        seq.generated = [TokenInfo(t, "", 0.0) for t in generated]
        seq.token_ids += generated                              # the engine keeps prompt + generated ids
        seqs.append(seq)
    return seqs


def measure(size: int, workload: str, steps: int, device: str, vocab: int) -> dict[str, float | str]:
    greedy, spread = WORKLOADS[workload]
    seqs = make_batch(size, greedy, vocab)
    logits = [(torch.randn(size, vocab, generator=torch.Generator().manual_seed(s)) * spread).to(device)
              for s in range(4)]
    arms = {"row_by_row": lambda x: [old_choose(x[row], seq) for row, seq in enumerate(seqs)],
            "batched": lambda x: sample_batch(x, seqs)}
    times: dict[str, list[float]] = {name: [] for name in arms}
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for step in range(steps + 2):                   # the first two steps warm up and are not kept
        for name, arm in arms.items():
            sync()
            start = time.perf_counter()
            arm(logits[step % len(logits)])
            sync()
            if step >= 2:
                times[name].append(time.perf_counter() - start)
    old, new = (statistics.median(times[name]) * 1e3 for name in arms)
    return {"batch": size, "workload": workload, "row_by_row_ms": round(old, 2),
            "batched_ms": round(new, 2), "speedup": round(old / new, 2)}


def old_detokenize(tokenizer: Any, ids: list[int]) -> str:
    """engine/engine.py's previous `_token_text`: decode all generated ids again for every new token."""
    text = ""
    for n in range(1, len(ids) + 1):
        full = tokenizer.decode(ids[:n], skip_special_tokens=True)
        if not full.endswith("\ufffd") and full.startswith(text):
            text = full
    return text


def measure_detokenizer(lengths: list[int]) -> list[dict[str, float]]:
    """Streaming `n` tokens of text with the bundled tokenizer: ms per token, re-decode vs offsets."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(settings.TINY_MODEL)
    words = " ".join(f"word{i} héllo, 7 plus {i} is {i + 7}." for i in range(max(lengths) // 4 + 1))
    ids = list(tokenizer(words, add_special_tokens=False, verbose=False)["input_ids"])
    rows = []
    for n in lengths:
        start = time.perf_counter()
        old = old_detokenize(tokenizer, ids[:n])
        middle = time.perf_counter()
        detokenizer = IncrementalDetokenizer(tokenizer, ids[:1])
        for token_id in ids[1:n]:
            detokenizer.add(token_id)
        end = time.perf_counter()
        assert old.endswith(detokenizer.text)
        rows.append({"tokens": n, "redecode_ms_per_token": round((middle - start) * 1e3 / n, 3),
                     "incremental_ms_per_token": round((end - middle) * 1e3 / (n - 1), 3)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="16,64")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--vocab", type=int, default=VOCAB, help="vocabulary size (default: SmolLM2's)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (logits and the old loop on it)")
    parser.add_argument("--detokenize", default="250,2000",
                        help="also stream this many tokens through both detokenisers ('' to skip)")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [measure(int(b), workload, args.steps, args.device, args.vocab)
            for b in args.batch_sizes.split(",") for workload in WORKLOADS]
    where = torch.cuda.get_device_name() if args.device == "cuda" else platform.processor() or platform.machine()
    print(f"# {where}, torch {torch.__version__}, {torch.get_num_threads()} threads, V = {args.vocab}")
    print("| batch | workload | row by row (ms/step) | batched (ms/step) | speed-up |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['workload']} | {r['row_by_row_ms']} | {r['batched_ms']} | {r['speedup']}x |")
    detok = measure_detokenizer([int(n) for n in args.detokenize.split(",")]) if args.detokenize else []
    if detok:
        print("\n| tokens streamed | decode all again (ms/token) | offsets (ms/token) |")
        print("|---|---|---|")
        for r in detok:
            print(f"| {r['tokens']} | {r['redecode_ms_per_token']} | {r['incremental_ms_per_token']} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"sampler": rows, "detokenizer": detok}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
