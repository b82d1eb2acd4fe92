"""What the client tests send: one chat question, the same question as a raw ChatML prompt, fast retries."""

from __future__ import annotations

FAST = dict(initial_delay_s=0.01, max_delay_s=0.02)
MESSAGES = [{"role": "user", "content": "What is 7 plus 5?"}]
#: A raw /generate prompt in ChatML, the bundled model's template (TGI applies no template on /generate).
PROMPT = "<|im_start|>user\nWhat is 7 plus 5?<|im_end|>\n<|im_start|>assistant\n"
