"""The bundled model's recipe: seeds, thread count, size and schedule, ChatML tokens, the accuracy bar."""

from __future__ import annotations

from dataclasses import dataclass

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
