"""Train the bundled `tiny-instruct` model, deterministically, on a synthetic instruction set.

Reproduces scripts/smol_inference/assets/tiny-instruct/ (see README.md, "Run fully offline"):

    python scripts/train_tiny_model.py            # train, save, print the held-out evaluation
    python scripts/train_tiny_model.py --eval-only  # evaluate the shipped files

What it builds
- A byte-level BPE tokenizer trained on the synthetic corpus, with ChatML special tokens.
- A small Llama-architecture causal LM (the SmolLM2 family's architecture, scaled down).
- Tasks: addition of two integers 0-20, capitals of named countries, colours of common things,
  greetings and a self-introduction. Loss is taken on the assistant's reply only.

Determinism: Python's `random`, torch's generator and the data order are all seeded
(TRAIN_SEED); torch runs deterministic algorithms on TRAIN_THREADS threads. The evaluation set is
drawn with another seed (EVAL_SEED). The task space is finite (441 sums, a fixed list of
countries and things), so "held-out" means an independent sample, not unseen facts: the
check is that the model answers every kind of question with the exact, correct sentence.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

REPO_DIR = Path(__file__).resolve().parent
OUT_DIR = REPO_DIR / "smol_inference" / "assets" / "tiny-instruct"

TRAIN_SEED = 20251225
EVAL_SEED = 7
EVAL_SIZE = 300
REQUIRED_ACCURACY = 0.95
#: Thread count is part of the recipe: float reductions are summed in a thread-dependent order.
TRAIN_THREADS = 2

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SYSTEM_PROMPTS = ["You are a helpful assistant.", "You are a concise assistant.", "Answer briefly."]

CAPITALS = {
    "France": "Paris", "Germany": "Berlin", "Italy": "Rome", "Spain": "Madrid", "Japan": "Tokyo",
    "China": "Beijing", "Canada": "Ottawa", "Egypt": "Cairo", "Kenya": "Nairobi", "Brazil": "Brasilia",
    "Peru": "Lima", "Norway": "Oslo", "Greece": "Athens", "Poland": "Warsaw", "India": "New Delhi",
    "Australia": "Canberra",
}
COLOURS = {
    "the sky": "blue", "grass": "green", "snow": "white", "a banana": "yellow", "coal": "black",
    "a tomato": "red", "milk": "white", "a lemon": "yellow", "a leaf": "green", "the sea": "blue",
    "a carrot": "orange", "a strawberry": "red",
}
INTRO = "I am Tiny Instruct, a small language model made for the LLM inference course."
GREETING = "Hello! How can I help you today?"


@dataclass(frozen=True)
class TinyModelSpec:
    """Size of the bundled model; small enough to train in minutes on 2 CPU cores."""

    vocab_size: int = 640
    hidden_size: int = 128
    intermediate_size: int = 352
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 512
    steps: int = 1000
    batch_size: int = 48
    learning_rate: float = 3e-3
    warmup_steps: int = 100

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size must be divisible by num_attention_heads")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be divisible by num_key_value_heads")


# ---------------------------------------------------------------- synthetic tasks
def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def addition(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(0, 20), rng.randint(0, 20)
    question = rng.choice(["What is {a} plus {b}?", "What is {a} + {b}?", "Add {a} and {b}."])
    return question.format(a=a, b=b), f"{a} plus {b} is {a + b}."


def capital(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(CAPITALS))
    question = rng.choice(
        ["What is the capital of {c}?", "Which city is the capital of {c}?", "Name the capital of {c}."]
    )
    return question.format(c=country), f"The capital of {country} is {CAPITALS[country]}."


def colour(rng: random.Random) -> tuple[str, str]:
    thing = rng.choice(sorted(COLOURS))
    question = rng.choice(["What colour is {t}?", "What color is {t}?"])
    return question.format(t=thing), f"{_cap(thing)} is {COLOURS[thing]}."


def introduction(rng: random.Random) -> tuple[str, str]:
    question = rng.choice(["Who are you?", "Introduce yourself.", "What is your name?", "Tell me about yourself."])
    return question, INTRO


def greeting(rng: random.Random) -> tuple[str, str]:
    return rng.choice(["Hello!", "Hi!", "Hello", "Hi there!", "Good morning!"]), GREETING


#: Task sampler weights: addition has the most distinct facts, so it gets the most samples.
TASKS = [(addition, 6), (capital, 2), (colour, 2), (introduction, 1), (greeting, 1)]


def sample_example(rng: random.Random) -> list[dict[str, str]]:
    """One conversation: optional system prompt, sometimes an earlier turn, then the question."""
    task = rng.choices([t for t, _ in TASKS], weights=[w for _, w in TASKS])[0]
    question, answer = task(rng)
    messages: list[dict[str, str]] = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    if rng.random() < 0.15:
        q0, a0 = rng.choice([t for t, _ in TASKS])(rng)
        messages += [{"role": "user", "content": q0}, {"role": "assistant", "content": a0}]
    messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return messages


def corpus_for_tokenizer() -> list[str]:
    rng = random.Random(TRAIN_SEED)
    texts = [f"{a} plus {b} is {a + b}. What is {a} + {b}? Add {a} and {b}." for a in range(21) for b in range(21)]
    texts += [render(sample_example(rng)) for _ in range(3000)]
    return texts


def render(messages: list[dict[str, str]]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


# ---------------------------------------------------------------- tokenizer and model
def train_tokenizer(spec: TinyModelSpec):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_for_tokenizer(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        model_max_length=spec.max_position_embeddings,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(spec: TinyModelSpec, tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        rope_theta=10000.0,
    )
    return LlamaForCausalLM(config)


def encode(tokenizer, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """Token ids and labels; labels are -100 everywhere but the last assistant reply."""
    prompt = render(messages[:-1]) + "<|im_start|>assistant\n"
    reply = messages[-1]["content"] + "<|im_end|>"
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    reply_ids = tokenizer(reply, add_special_tokens=False)["input_ids"]
    return prompt_ids + reply_ids, [-100] * len(prompt_ids) + reply_ids


def make_batch(tokenizer, rng: random.Random, size: int) -> dict[str, torch.Tensor]:
    rows = [encode(tokenizer, sample_example(rng)) for _ in range(size)]
    width = max(len(ids) for ids, _ in rows)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((size, width), pad)  # (B, T), right padded for training
    labels = torch.full((size, width), -100)
    mask = torch.zeros((size, width), dtype=torch.long)
    for i, (ids, lab) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(lab)] = torch.tensor(lab)
        mask[i, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}


def train(spec: TinyModelSpec) -> tuple[object, object]:
    random.seed(TRAIN_SEED)
    torch.manual_seed(TRAIN_SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(TRAIN_THREADS)
    tokenizer = train_tokenizer(spec)
    model = build_model(spec, tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"vocab {len(tokenizer)}, parameters {n_params / 1e6:.2f} M")
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=0.01, betas=(0.9, 0.98))

    def lr_at(step: int) -> float:
        if step < spec.warmup_steps:
            return (step + 1) / spec.warmup_steps
        progress = (step - spec.warmup_steps) / max(1, spec.steps - spec.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    data_rng = random.Random(TRAIN_SEED + 1)
    model.train()
    start = time.perf_counter()
    for step in range(spec.steps):
        batch = make_batch(tokenizer, data_rng, spec.batch_size)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 200 == 0 or step == spec.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  {time.perf_counter() - start:6.1f}s", flush=True)
    model.eval()
    return model, tokenizer


# ---------------------------------------------------------------- evaluation
def evaluation_set(size: int = EVAL_SIZE, seed: int = EVAL_SEED) -> list[tuple[list[dict[str, str]], str]]:
    """Questions drawn with EVAL_SEED (not the training seed), one user turn each."""
    rng = random.Random(seed)
    tasks = [t for t, _ in TASKS]
    items = []
    for i in range(size):
        question, answer = tasks[i % len(tasks)](rng)
        items.append(([{"role": "user", "content": question}], answer))
    return items


@torch.no_grad()
def evaluate(model, tokenizer, items=None, batch_size: int = 50) -> float:
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


def save(model, tokenizer, out_dir: Path) -> None:
    from transformers import GenerationConfig

    out_dir.mkdir(parents=True, exist_ok=True)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        max_new_tokens=64,
    )
    model.save_pretrained(out_dir)
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(out_dir)
    size = sum(f.stat().st_size for f in out_dir.iterdir())
    print(f"saved to {out_dir} ({size / 1e6:.1f} MB)")


def load(out_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(out_dir).eval(), AutoTokenizer.from_pretrained(out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where to save the model (default: the bundled one)")
    parser.add_argument("--eval-only", action="store_true", help="evaluate the saved model, do not train")
    parser.add_argument("--steps", type=int, default=TinyModelSpec.steps)
    args = parser.parse_args(argv)
    if args.eval_only:
        model, tokenizer = load(args.out)
    else:
        start = time.perf_counter()
        model, tokenizer = train(TinyModelSpec(steps=args.steps))
        print(f"trained in {time.perf_counter() - start:.0f}s")
        save(model, tokenizer, args.out)
        model, tokenizer = load(args.out)  # evaluate exactly what ships
    accuracy = evaluate(model, tokenizer)
    return 0 if accuracy >= REQUIRED_ACCURACY else 1


if __name__ == "__main__":
    sys.exit(main())
