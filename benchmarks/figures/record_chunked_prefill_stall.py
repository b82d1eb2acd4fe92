"""Record the gaps between a streaming request's tokens while a long prompt arrives, chunked prefill on and off.

One course server per arm (the real SmolLM2-135M-Instruct on the CPU). A client streams a long chat reply
(`/v1/chat/completions`, stream) and times every token on arrival; after `--arrival-token` tokens a second client sends
a prompt of about `--long-prompt-words` tokens to `/generate`. With chunked prefill off the long prompt is
prefilled in one step and the streaming request waits for all of it (one long gap); with chunking on
(`--max-batch-prefill-tokens` = the chunk) each step runs one chunk beside the decode token, so the stall
is spread over several shorter gaps. The same stall motivates disaggregated prefill/decode.

    python benchmarks/figures/record_chunked_prefill_stall.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from figures_common import config, serve
from course_figures import records
from smol_inference.bench import make_prompts


def _is_token(line: str) -> bool:
    """An OpenAI stream chunk that carries generated text (one per token for the course tokenizers)."""
    if not line.startswith("data:") or line[5:].strip() == "[DONE]":
        return False
    choices = json.loads(line[5:]).get("choices") or []
    return bool(choices) and bool((choices[0].get("delta") or {}).get("content"))


async def _one_run(url: str, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    long_prompt = make_prompts(1, args.long_prompt_words, seed=seed)[0]      # a new one each run: no prefix hit
    arrivals: list[float] = []
    long_sent = long_done = None
    async with httpx.AsyncClient(base_url=url, timeout=config.STALL_REQUEST_TIMEOUT_S) as http:
        async def send_long() -> None:
            nonlocal long_sent, long_done
            long_sent = time.perf_counter() - start
            reply = await http.post("/generate", json={"inputs": long_prompt, "parameters": {"max_new_tokens": 1}})
            reply.raise_for_status()
            long_done = time.perf_counter() - start

        body = {"model": args.model, "messages": [{"role": "user", "content": args.decode_prompt}],
                "max_tokens": args.decode_tokens, "stream": True}
        task = None
        start = time.perf_counter()
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if _is_token(line):
                    arrivals.append(time.perf_counter() - start)
                    if len(arrivals) == args.arrival_token:
                        task = asyncio.create_task(send_long())
        if task is not None:
            await task
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    return {"token_times_s": arrivals, "gaps_s": gaps, "long_prompt_sent_s": long_sent,
            "long_prompt_done_s": long_done, "max_gap_s": max(gaps, default=None)}


def record(args: argparse.Namespace) -> dict[str, Any]:
    arms = {"chunked": ["--max-batch-prefill-tokens", str(args.chunk_tokens)],
            "unchunked": ["--disable-chunked-prefill"]}
    out: dict[str, Any] = {"model": args.model, "decode_tokens": args.decode_tokens,
                           "arrival_token": args.arrival_token, "long_prompt_words": args.long_prompt_words,
                           "chunk_tokens": args.chunk_tokens, "server_threads": config.SERVER_THREADS, "arms": {}}
    with tempfile.TemporaryDirectory() as logs:
        for arm, flags in arms.items():
            with serve(args.model, Path(logs), flags) as served:
                asyncio.run(_one_run(served.url, args, seed=0))            # warm-up: first-call allocations
                run = asyncio.run(_one_run(served.url, args, seed=1))
                run["server_flags"] = flags
                out["arms"][arm] = run
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=config.SERVER_MODEL)
    parser.add_argument("--decode-prompt", default=config.STALL_DECODE_PROMPT)
    parser.add_argument("--decode-tokens", type=int, default=config.STALL_DECODE_TOKENS)
    parser.add_argument("--arrival-token", type=int, default=config.STALL_ARRIVAL_TOKEN)
    parser.add_argument("--long-prompt-words", type=int, default=config.STALL_LONG_PROMPT_WORDS)
    parser.add_argument("--chunk-tokens", type=int, default=config.STALL_CHUNK_TOKENS)
    parser.add_argument("--out-dir", type=Path, default=None, help="default: text_generation_inference/figures/data")
    args = parser.parse_args(argv)
    if not 1 <= args.arrival_token < args.decode_tokens:
        parser.error("--arrival-token must be between 1 and --decode-tokens - 1")
    data = record(args)
    path = records.write("chunked_prefill_stall", data, args.out_dir,
                         argv=None if argv is None else [__file__, *argv])
    longest = {arm: round(run["max_gap_s"] or 0.0, 3) for arm, run in data["arms"].items()}
    print(f"longest gap between tokens (s): {longest} -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
