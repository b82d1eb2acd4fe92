"""The synthetic instruction set: sums, capitals, colours, greetings and a self-introduction, as ChatML."""

from __future__ import annotations

import random

from .recipe import TRAIN_SEED

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
