"""A quantizer a learner can read and run on a CPU: int8 weights, one scale per output channel.

`quantize_int8(model)` replaces every `nn.Linear` (except the ones named in `skip`) by `Int8Linear`,
which stores the weight as int8 plus a float scale per output row (symmetric, absmax / 127: the
"LLM.int8()" paper's vector-wise scheme without its outlier path; the same storage as torchao's
`Int8WeightOnlyConfig` and llama.cpp's Q8_0 up to the block size) and dequantizes it on the fly.
Weight-only quantization suits decoding, which is limited by reading weights, not by arithmetic.
`stored_bytes(model)` counts what the state dict takes when saved, so both layouts are compared fairly.
Production code uses kernels that multiply int8 directly (torchao, bitsandbytes, llama.cpp's GGUF
formats, TGI's `--quantize eetq`); this module shows the idea and its effect on size and answers.
Taught in text_generation_inference/memory_and_speed.md, "Quantization, hands-on".
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn import functional as F

#: Largest magnitude of a signed 8-bit integer: weights are scaled so that each row's absmax maps to it.
INT8_MAX = 127
#: Layers left in full precision by default (the output projection decides every token; it is often tied
#: to the input embeddings, which stay in full precision too).
DEFAULT_SKIP = ("lm_head",)


class Int8Linear(nn.Module):
    """`y = x @ (q * scale).T + bias` with q int8 [out, in] and scale [out, 1] in the input's dtype."""

    qweight: torch.Tensor  # registered buffers, declared for the type checker
    scale: torch.Tensor

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()                               # [out, in]
        scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / INT8_MAX  # [out, 1]
        self.register_buffer("qweight", torch.round(weight / scale).clamp(-INT8_MAX, INT8_MAX).to(torch.int8))
        self.register_buffer("scale", scale.to(linear.weight.dtype))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone())
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:                      # x [..., in]
        weight = self.qweight.to(x.dtype) * self.scale.to(x.dtype)            # [out, in]
        return F.linear(x, weight, self.bias)                                 # [..., out]

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-channel"


def quantize_int8(model: nn.Module, skip: Iterable[str] = DEFAULT_SKIP) -> nn.Module:
    """Replace, in place, each `nn.Linear` whose name does not end with one of `skip`; return `model`."""
    skipped = tuple(skip)
    targets = [(name, module) for name, module in model.named_modules()
               if isinstance(module, nn.Linear) and not name.endswith(skipped)]
    for name, linear in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Int8Linear(linear))
    return model


def stored_bytes(model: nn.Module) -> int:
    """Bytes of the model's state dict once saved with `torch.save` (tied weights counted once)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()
