"""CPU decode GEMMs with weights packed once (oneDNN), used only inside engine steps.

A decode step multiplies a few rows by every weight of the model, so it streams all the weights from
memory. torch's default CPU GEMM (MKL) re-packs the weight matrix on every call: with 16 rows and
weights out of cache that reached about 6 to 8 GB/s here (one or two threads), against 23 to 32 GB/s
of memory read bandwidth. oneDNN's linear with a weight reordered once at start skips that work (vLLM's
CPU backend does the same: `dispatch_cpu_unquantized_gemm` in vllm/model_executor/layers/utils.py; so does
torch.compile's CPU "freezing"): decode matmuls ran about 2x faster. benchmarks/README.md, "Engine v2".

The packed path is taken only while an engine step runs on this thread (attention.in_engine_step), so the
same model used by pipelines or `generate` in the process keeps transformers' own path. CPU and float32
only; where torch lacks the oneDNN ops the model is left as it is.
"""

from __future__ import annotations

import logging
import types
from typing import Any

import torch
import torch.nn.functional as F

from .attention import in_engine_step, set_context

log = logging.getLogger(__name__)
#: Rows the packed layout is tuned for (a decode batch); any row count works.
PACKING_ROWS_HINT = 16


def _packed_ops_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_reorder_linear_weight") \
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _fingerprint(module: torch.nn.Linear) -> tuple[int, ...]:
    """Where the weight and bias live and how often they were changed in place (tensor._version)."""
    return tuple(x for t in (module.weight, module.bias) if t is not None for x in (t.data_ptr(), t._version))


def _packed_forward(packed: torch.Tensor, fingerprint: tuple[int, ...]) -> Any:
    def forward(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
        """x [..., in] -> [..., out]; the packed kernel in an engine step, F.linear elsewhere, and F.linear
        as soon as the weight is not the one packed (changed in place, replaced, a deep copy, moved)."""
        if not in_engine_step() or x.dtype != torch.float32 or x.requires_grad or _fingerprint(self) != fingerprint:
            return F.linear(x, self.weight, self.bias)
        out = torch.ops.mkldnn._linear_pointwise(x.reshape(-1, x.shape[-1]), packed, self.bias, "none", [], "")
        return out.view(*x.shape[:-1], out.shape[-1])
    forward.packed_weight = packed      # type: ignore[attr-defined]  # function attributes mark our wrapper
    forward.fingerprint = fingerprint   # type: ignore[attr-defined]  # ...and what it was packed from
    return forward


def pack_linear_weights(model: torch.nn.Module, enable: bool = True) -> int:
    """Give every float32 nn.Linear of a CPU model a packed copy of its weight; returns how many.

    Costs one more copy of those weights in memory. A Linear whose weight changes later (in place, replaced,
    deep-copied or moved) falls back to F.linear until packed again. `enable=False` removes the copies (an
    engine made with --disable-packed-weights on a model another engine packed)."""
    linears = [m for m in model.modules() if type(m) is torch.nn.Linear]
    for module in linears:                               # forget packing whose weight changed (or all of it)
        wrapper: Any = module.__dict__.get("forward")
        if hasattr(wrapper, "packed_weight") and (not enable or wrapper.fingerprint != _fingerprint(module)):
            del module.forward
    if not enable:
        return 0
    if not _packed_ops_available():
        log.info("oneDNN packed linear not available in this torch: CPU GEMMs stay torch's default")
        return 0
    chosen = [m for m in linears if m.weight.device.type == "cpu" and m.weight.dtype == torch.float32]
    try:
        for module in chosen:
            if hasattr(module.__dict__.get("forward"), "packed_weight"):   # still packed from its current weight
                continue
            with torch.no_grad():
                packed = torch.ops.mkldnn._reorder_linear_weight(module.weight.detach(), PACKING_ROWS_HINT)
            # A per-instance forward: nn.Module looks it up before the class's (typed as a method, hence ignore).
            module.forward = types.MethodType(  # type: ignore[method-assign]  # see the line above
                _packed_forward(packed, _fingerprint(module)), module)
        if chosen:
            _check_agrees(chosen[0])
    except Exception as exc:  # noqa: BLE001 - a CPU or torch build without working oneDNN: serve unpacked
        log.warning("packed weights disabled (%s: %s); CPU GEMMs stay torch's default", type(exc).__name__, exc)
        return pack_linear_weights(model, enable=False)
    return len(chosen)


def _check_agrees(module: torch.nn.Linear) -> None:
    """One packed layer against F.linear on random rows, as inside an engine step; raises if they differ."""
    x = torch.randn(3, module.in_features, generator=torch.Generator().manual_seed(0))
    set_context(object())  # type: ignore[arg-type]  # any object marks "inside an engine step"; none is read
    try:
        with torch.inference_mode():
            got = module(x)
    finally:
        set_context(None)
    with torch.no_grad():
        want = F.linear(x, module.weight, module.bias)
    if not torch.allclose(got, want, rtol=1e-3, atol=1e-3 * float(want.abs().max()) + 1e-6):
        raise ValueError(f"packed linear differs from F.linear by {float((got - want).abs().max()):.3g}")
