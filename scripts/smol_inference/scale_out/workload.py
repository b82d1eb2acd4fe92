"""A multi-tenant chat workload: several long shared system prompts, many short questions, a seeded shuffle.

Each tenant (an app built on the same model) sends its own long system prompt before every user
question. A replica that already holds that prompt's KV blocks prefills only the question (prefix
caching); round-robin spreads each prompt over every replica, so each replica computes it again.
The text is generated from a seed, so every run and every policy sees the same requests in the same
order. Lesson 2, "Operate and scale".
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Words the synthetic system prompts are drawn from (plain English, so any tokenizer splits them alike).
_WORDS = [
    "the", "assistant", "answers", "questions", "about", "orders", "shipping", "returns", "invoices",
    "accounts", "products", "warranty", "repairs", "stores", "opening", "hours", "payments", "refunds",
    "delivery", "tracking", "customers", "policy", "always", "politely", "briefly", "clearly", "in",
    "English", "never", "shares", "private", "data", "and", "asks", "for", "the", "order", "number", "when",
    "needed"
]
_QUESTIONS = ("Where is my order?", "How do I return a lamp?", "When do you open?", "Can I pay by card?",
              "Is shipping free?", "How long is the warranty?", "Can I change my address?",
              "Where is my refund?", "Do you repair bikes?", "How do I reset my password?",
              "Can I cancel my order?", "Do you sell gift cards?")


@dataclass(frozen=True)
class WorkloadConfig:
    """`tenants` system prompts of `system_words` words, `questions` questions each, shuffled with `seed`."""

    tenants: int = 4
    questions: int = 10
    system_words: int = 60
    max_tokens: int = 4
    seed: int = 0
    #: Changes the system prompts' text, not their length or the order: a fresh set of tenants with the
    #: same shape, so several policies can be compared on the same replicas without sharing their caches.
    salt: str = ""

    def __post_init__(self) -> None:
        if self.tenants < 1 or self.questions < 1 or self.system_words < 1 or self.max_tokens < 1:
            raise ValueError(f"tenants, questions, system_words and max_tokens must be >= 1: {self}")


@dataclass(frozen=True)
class ChatRequest:
    """One request of the workload: which tenant, its messages, and its full prompt text."""

    tenant: int
    system: str
    question: str

    @property
    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.question}]

    @property
    def prompt(self) -> str:
        """The text a router sees: system prompt, then the question."""
        return f"{self.system}\n{self.question}"


def system_prompt(tenant: int, words: int, seed: int, salt: str = "") -> str:
    rng = random.Random(f"{seed}-{salt}-{tenant}")
    body = " ".join(rng.choice(_WORDS) for _ in range(words))
    return f"You are support assistant {salt}{tenant}. {body}."


def build_workload(config: WorkloadConfig) -> list[ChatRequest]:
    """tenants x questions requests in a seeded random order."""
    prompts = [system_prompt(tenant, config.system_words, config.seed, config.salt) for tenant in range(config.tenants)]
    requests = [ChatRequest(tenant, prompts[tenant], f"{_QUESTIONS[q % len(_QUESTIONS)]} (ticket {tenant}-{q})")
                for tenant in range(config.tenants) for q in range(config.questions)]
    random.Random(config.seed).shuffle(requests)
    return requests
