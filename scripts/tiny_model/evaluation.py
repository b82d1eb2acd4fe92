"""The held-out evaluation: questions drawn with EVAL_SEED, greedy answers, exact match on the sentence."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import torch

from .recipe import EVAL_SEED, EVAL_SIZE
from .tasks import TASKS

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

#: Evaluation items: (a one-turn conversation, the expected reply).
Items = list[tuple[list[dict[str, str]], str]]


def evaluation_set(size: int = EVAL_SIZE, seed: int = EVAL_SEED) -> Items:
    """Questions drawn with EVAL_SEED (not the training seed), one user turn each."""
    rng = random.Random(seed)
    tasks = [t for t, _ in TASKS]
    items = []
    for i in range(size):
        question, answer = tasks[i % len(tasks)](rng)
        items.append(([{"role": "user", "content": question}], answer))
    return items


@torch.no_grad()
def evaluate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, items: Items | None = None,
             batch_size: int = 50) -> float:
    """Greedy answers, exact match on the reply sentence. Prints failures (at most 10)."""
    items = items if items is not None else evaluation_set()
    tokenizer.padding_side = "left"
    correct, failures = 0, []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        prompts = [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m, _ in chunk]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        out = model.generate(**enc, max_new_tokens=32, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        replies = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        for (messages, expected), reply in zip(chunk, replies):
            if reply.strip() == expected:
                correct += 1
            elif len(failures) < 10:
                failures.append((messages[-1]["content"], expected, reply.strip()))
    for question, expected, got in failures:
        print(f"  MISS {question!r}: expected {expected!r}, got {got!r}")
    accuracy = correct / len(items)
    print(f"held-out accuracy: {correct}/{len(items)} = {accuracy:.1%} (seed {EVAL_SEED})")
    return accuracy
