"""Load the model and tokenizer the server will serve, safely by default.

Like TGI's launcher: `--dtype` picks the weights' precision (default: bfloat16 on a GPU that supports it,
else float16, float32 on CPU where half precision is slow), and remote code runs only with
`--trust-remote-code`.
text_generation_inference/tune_and_measure.md, "Launcher flags".
"""

from __future__ import annotations

from typing import Any

from ...models import check_model_exists, expand_alias, model_label
from ..config import ServerConfig


def display_name(model_id: str) -> str:
    """What /info and /v1/models call the model: the alias for the bundled and the converted one."""
    return model_label(model_id)


def default_dtype(device: str) -> str:
    """bfloat16 on GPUs that support it, float16 on older ones, float32 on CPU (half is slow there)."""
    import torch

    if not device.startswith("cuda"):
        return "float32"
    return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"


def load(config: ServerConfig) -> tuple[Any, Any, int | None]:
    """(model in eval mode on its device, tokenizer, the model's context length or None)."""
    name = expand_alias(config.model_id)
    check_model_exists(name)                         # before the slow imports: fail fast
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = config.dtype or default_dtype(device)
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=config.trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(name, dtype=getattr(torch, dtype),
                                                 trust_remote_code=config.trust_remote_code)
    model = model.to(device).eval()  # type: ignore[arg-type]  # transformers' decorated .to() loses the bound self
    context = getattr(model.config, "max_position_embeddings", None)
    return model, tokenizer, context
