"""CPU engine steps multiply by weights packed once for oneDNN (server/engine/packed_linear.py); outside a step,
and with --disable-packed-weights, the model's Linear layers run torch's default GEMM."""

from __future__ import annotations

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from engine_helpers import make_engine, prompt_ids
from smol_inference.server.engine import SamplingParams, Sequence, StoppingParams
from smol_inference.server.engine.packed_linear import pack_linear_weights

PACKED_OP = "mkldnn::_linear_pointwise"


def ops_of(fn) -> set[str]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return {event.key for event in prof.key_averages()}


@pytest.mark.parametrize("disable", [False, True])
def test_engine_steps_use_packed_weights_unless_disabled(tiny_model, disable: bool) -> None:
    model, tokenizer, context = tiny_model
    engine = make_engine(model, tokenizer, context, disable_packed_weights=disable)   # stepped on this thread
    ids = prompt_ids(tokenizer, "What is the capital of France?")
    engine.submit(Sequence(ids, SamplingParams(), StoppingParams(4), emit=lambda *_: None))

    def steps() -> None:
        for _ in range(10):                          # bounded: prefill and 3 decode steps, then idle
            if not engine.step():
                break
    ops = ops_of(steps)
    assert engine.pool.num_used == 0
    assert (PACKED_OP in ops) is (not disable)
    outside = ops_of(lambda: model.generate(torch.tensor([ids]), max_new_tokens=2, do_sample=False))
    assert PACKED_OP not in outside                  # pipelines and generate keep transformers' own path


def test_packing_is_exact_enough_and_undone(tiny_model) -> None:
    """The packed kernel agrees with F.linear to float32 rounding; enable=False restores the plain forward."""
    from smol_inference.server.engine.attention import set_context

    model = tiny_model[0]
    layer = next(m for m in model.modules() if type(m) is torch.nn.Linear)
    assert pack_linear_weights(model) > 0
    x = torch.randn(5, layer.in_features)
    set_context(object())                            # as inside an engine step
    try:
        with torch.inference_mode():
            got = layer(x)
    finally:
        set_context(None)
    assert torch.allclose(got, torch.nn.functional.linear(x, layer.weight, layer.bias), atol=1e-4, rtol=1e-4)
    assert pack_linear_weights(model, enable=False) == 0 and "forward" not in layer.__dict__


def test_a_torch_without_working_onednn_serves_unpacked(tiny_model, monkeypatch) -> None:
    """Packing that fails (a CPU or torch build whose oneDNN op raises) leaves every layer unpacked."""
    model, tokenizer, context = tiny_model

    def broken(weight: torch.Tensor, rows: int) -> torch.Tensor:
        raise RuntimeError("no oneDNN kernel for this CPU")

    monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", broken)
    assert pack_linear_weights(model) == 0
    assert not any("forward" in m.__dict__ for m in model.modules() if type(m) is torch.nn.Linear)


def test_a_changed_or_copied_weight_is_never_served_from_the_stale_packed_copy(tiny_model) -> None:
    """Packed copies follow the weight they were made from: a deep copy of the model, or a weight changed
    in place after packing, computes with its own current weight (F.linear) inside an engine step too."""
    import copy

    from smol_inference.server.engine.attention import set_context

    model = tiny_model[0]
    assert pack_linear_weights(model) > 0
    twin = copy.deepcopy(model)
    layer, twin_layer = (next(m for m in mdl.modules() if type(m) is torch.nn.Linear) for mdl in (model, twin))
    x = torch.randn(4, layer.in_features)
    set_context(object())                            # as inside an engine step
    try:
        with torch.no_grad():
            twin_layer.weight.zero_()
            assert torch.count_nonzero(twin_layer(x)) == 0           # the copy's own (zero) weight
            before = layer(x)
            layer.weight.mul_(2)                                      # changed in place after packing
            assert torch.allclose(layer(x), 2 * before, rtol=1e-4, atol=1e-5)
            layer.weight.div_(2)
    finally:
        set_context(None)
        pack_linear_weights(model)                   # the module fixture's model, packed from its real weights
