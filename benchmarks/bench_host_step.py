"""The engine's host work per decode step at a large batch: everything after the forward.

On a GPU a small model's decode forward takes a few milliseconds (CUDA graphs), so what the engine does
on the CPU afterwards decides the step time: sampling the batch, detokenising each new token, the stop
rules, and handing every token to the HTTP event loop. This script measures exactly that, on the CPU,
without a GPU: an Engine on a random-weight SmolLM2-135M (its 49,152-token vocabulary) holds `--batch`
running sequences of ~376 prompt tokens; each step replaces the forward by fixed logits and times
`Engine._run` (sampling, detokenising, stop checks, events delivered to an asyncio loop on another
thread through the server's EventPump, block bookkeeping). With logits on the CPU, the batch's
log-softmax and argmax (about 40 ms at batch 256) are part of the figure; on a GPU they run on the device.

    python benchmarks/bench_host_step.py --batch 256 --steps 20

Figures in benchmarks/README.md, "Engine v2". Run it against another checkout with
PYTHONPATH=OTHER/scripts to compare two versions of the engine on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import tempfile
import threading
import time

import torch

PROMPT_TOKENS = 376
TEXT = " the sea is blue and the sky is wide and we walk along the shore"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="also print the top functions (cProfile)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from transformers import AutoModelForCausalLM, AutoTokenizer

    import smol_inference
    from smol_inference import build_random_model
    from smol_inference.server.config import ServerConfig
    from smol_inference.server.engine import Engine, SamplingParams, Sequence, StoppingParams
    from smol_inference.server.engine.model_runner import StepOutput
    try:                                                  # beside Sequence, where it is there
        from smol_inference.server.engine.sequence import Work
    except ImportError:
        from smol_inference.server.engine.model_runner import Work

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    events: asyncio.Queue = asyncio.Queue()
    try:                                                  # the server's batched hand-off, where it exists
        from smol_inference.server.service import EventPump
        pump = EventPump(loop)

        def emit(kind: str, payload: object) -> None:
            pump.push(events, (kind, payload))
    except ImportError:                                   # older engines: one wake-up per token
        def emit(kind: str, payload: object) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (kind, payload))

    with tempfile.TemporaryDirectory() as tmp:
        path = build_random_model("smollm2-135m", out_dir=f"{tmp}/model", seed=0)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
        tokenizer = AutoTokenizer.from_pretrained(path)
    batch, vocab = args.batch, model.config.vocab_size
    config = ServerConfig(max_batch_total_tokens=batch * 512, max_batch_size=batch, max_batch_prefill_tokens=4096,
                          max_total_tokens=512, max_input_tokens=400).resolve(8192)
    engine = Engine(model, tokenizer, config.engine_config() if hasattr(config, "engine_config") else config)
    words = tokenizer(TEXT * 40)["input_ids"]
    seqs = []
    for row in range(batch):
        seq = Sequence(words[row % 100:row % 100 + PROMPT_TOKENS], SamplingParams(),
                       StoppingParams(args.steps + 16), emit)
        engine.blocks.admit(seq, use_cache=False)
        seq.num_computed = len(seq.token_ids)
        engine.scheduler.running.append(seq)
        seqs.append(seq)
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(batch, vocab, generator=generator) * 5
    favoured = torch.tensor(words[:200])

    def step(index: int) -> float:
        logits = base.clone()                                   # a word token wins, so text is produced
        logits[torch.arange(batch), favoured[(torch.arange(batch) + index) % len(favoured)]] += 100
        work = [Work(seq, len(seq.token_ids) - 1, 1) for seq in seqs]
        for seq in seqs:
            engine.blocks.grow(seq, 1)
        engine.runner.run = lambda items: StepOutput(logits, list(items), [])
        start = time.perf_counter()
        engine._run(work)
        return time.perf_counter() - start

    for index in range(3):                                      # warm-up
        step(index)
    times = [step(index) for index in range(3, 3 + args.steps)]
    where = smol_inference.__file__.rsplit("/scripts/", 1)[0]
    print(f"{where}: batch {batch}, vocabulary {vocab}: host work per decode step, median "
          f"{1000 * statistics.median(times):.1f} ms over {args.steps} steps")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for index in range(5):
            step(100 + index)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()
