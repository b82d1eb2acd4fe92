"""`smol-inference generate PROMPT`: one reply from a local model, chat template applied.

README.md, "Quickstart"; inference_pipeline.md shows the same steps in Python.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, cast

from .models import check_model_exists, resolve_model
from .settings import DEFAULT_MAX_NEW_TOKENS


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", metavar="PROMPT", help="the question or text to continue")
    parser.add_argument("--model", default=None,
                        help="hub id, local path or 'tiny-instruct' (default: resolve_model())")
    parser.add_argument("--max-new-tokens", type=positive_int, default=DEFAULT_MAX_NEW_TOKENS)
    parser.add_argument("--temperature", type=non_negative_float, default=0.0, help="0 means greedy decoding")
    parser.add_argument("--seed", type=int, default=None, help="seed for sampling (reproducible output)")
    parser.add_argument("--raw", action="store_true", help="plain completion: do not apply the chat template")
    parser.add_argument("--verbose", action="store_true", help="also print token count and time")


def generate_reply(model_name: str, prompt: str, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                   temperature: float = 0.0, seed: int | None = None, raw: bool = False) -> dict[str, Any]:
    """Load `model_name`, generate, and return the text with token count and timing."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_model_exists(model_name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_name)
        model = AutoModelForCausalLM.from_pretrained(model_name).eval()
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot load model {model_name!r}: {str(exc).splitlines()[0]}") from None
    use_chat = not raw and tokenizer.chat_template is not None
    if use_chat:
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    else:
        text = prompt
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=not use_chat)
    if seed is not None:
        torch.manual_seed(seed)
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    start = time.perf_counter()
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens,
                                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id, **sampling)
    new_tokens = output[0, inputs["input_ids"].shape[1]:]
    return {
        "text": cast(str, tokenizer.decode(new_tokens, skip_special_tokens=True)).strip(),  # one sequence: one str
        "generated_tokens": int(new_tokens.shape[0]),
        "seconds": time.perf_counter() - start,
    }


def run(args: argparse.Namespace) -> int:
    if not args.prompt.strip():
        raise ValueError("PROMPT must not be empty")
    model_name = resolve_model(args.model)
    result = generate_reply(model_name, args.prompt, max_new_tokens=args.max_new_tokens,
                            temperature=args.temperature, seed=args.seed, raw=args.raw)
    print(result["text"])
    if args.verbose:
        print(f"[{result['generated_tokens']} tokens in {result['seconds']:.2f}s]")
    return 0
