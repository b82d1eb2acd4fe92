"""Lesson 2, exercise 5: size the KV cache of a real model and price a million tokens, offline.

The learner computes, from Llama-3.1-8B's config facts and one dated GPU price, three numbers:
`kv_bytes_per_token` (its KV cache in bfloat16), `max_sequences` (how many full-length sequences the
pool of one 80 GB GPU holds once the weights are loaded, at vLLM's default memory share) and
`usd_per_million_tokens` (at the measured throughput and hourly price the cell gives). The check
recomputes each with sizing.py and, for a wrong answer, names the mistake it matches: keys or values
only, attention heads for KV heads, bits for bytes, weights not subtracted, the memory share forgotten,
a price per second, per token, or upside down. text_generation_inference/memory_and_speed.md,
"KV cache and memory sizing" and "Cost per million tokens".
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ..sizing import GIB, LLAMA_31_CONFIGS, PRICES, ModelShape, cost_per_million_tokens, will_it_fit
from .config import (SIZING_CONTEXT, SIZING_DTYPE, SIZING_GPU_GIB, SIZING_MODEL, SIZING_PRICE, SIZING_REL_TOL,
                     SIZING_TOKENS_PER_S, SIZING_UTILIZATION)
from .core import Exercise

SOLUTION = '''
from smol_inference.sizing import will_it_fit

kv_bytes_per_token = 2 * EX5_CONFIG["num_hidden_layers"] * EX5_CONFIG["num_key_value_heads"] * EX5_HEAD_DIM * 2
weights = EX5_PARAMETERS * 2                               # bfloat16: 2 bytes per weight
pool = EX5_GPU_BYTES * EX5_UTILIZATION - weights           # what is left for the KV cache
max_sequences = int(pool // (kv_bytes_per_token * EX5_CONTEXT))
usd_per_million_tokens = EX5_PRICE.usd_per_hour / (EX5_TOKENS_PER_S * 3600) * 1_000_000
print(kv_bytes_per_token, max_sequences, round(usd_per_million_tokens, 4))
'''


def givens() -> dict[str, Any]:
    """What the notebook's exercise cell defines before the learner's code (EX5_*), from one place."""
    config = LLAMA_31_CONFIGS[SIZING_MODEL]
    shape = ModelShape.from_config(SIZING_MODEL, config)
    return {"EX5_CONFIG": config, "EX5_HEAD_DIM": shape.head_dim, "EX5_PARAMETERS": shape.parameters,
            "EX5_GPU_BYTES": SIZING_GPU_GIB * GIB, "EX5_UTILIZATION": SIZING_UTILIZATION,
            "EX5_CONTEXT": SIZING_CONTEXT, "EX5_TOKENS_PER_S": SIZING_TOKENS_PER_S, "EX5_PRICE": PRICES[SIZING_PRICE]}


def _close(value: float, target: float) -> bool:
    return math.isclose(value, target, rel_tol=SIZING_REL_TOL)


class SizingCost(Exercise):
    """Check `kv_bytes_per_token`, `max_sequences` and `usd_per_million_tokens` against sizing.py."""

    names: ClassVar[tuple[str, ...]] = ("kv_bytes_per_token", "max_sequences", "usd_per_million_tokens")
    hints: ClassVar[dict[str, str]] = {
        "en": ("Per token, every layer stores one key and one value vector for each KV head (not each attention "
               "head: grouped-query attention shares them). Count bytes, not bits. The pool is what the engine may "
               "use minus the weights; a sequence takes its context's worth of KV. For the price, how many tokens "
               "does the server make in an hour?"),
        "zh": ("每个词元在每一层为每个 KV 头（不是每个注意力头："
               "分组查询注意力让多个头共用它们）各存一个键向量和一个值向量。"
               "按字节算，不是按比特。池是引擎可用的显存减去权重；一个序列占用它整个上下文长度的 KV。"
               "至于价格：服务器一小时能生成多少个词元？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        kv, sequences, price = self.learner()
        for name, value in (("kv_bytes_per_token", kv), ("max_sequences", sequences),
                            ("usd_per_million_tokens", price)):
            self.expect(isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0,
                        f"`{name}` should be a positive number, got {value!r}",
                        f"`{name}` 应当是一个正数，得到的是 {value!r}")
        self._check_kv(float(kv))
        self._check_sequences(float(sequences))
        self._check_price(float(price))
        print(f"KV {kv:,.0f} bytes per token, {sequences:,.0f} sequences of {SIZING_CONTEXT:,} tokens, "
              f"${price:.4f} per million tokens")

    def _diagnose(self, name: str, value: float, target: float, mistakes: list[tuple[float, str, str]],
                  formula_en: str, formula_zh: str) -> None:
        if _close(value, target):
            return
        for wrong, en, zh in mistakes:
            self.expect(not _close(value, wrong), f"`{name}` = {value:,.6g}: {en}", f"`{name}` = {value:,.6g}：{zh}")
        self.expect(False, f"`{name}` = {value:,.6g} is not what {formula_en} gives; recompute it step by step",
                    f"`{name}` = {value:,.6g} 与 {formula_zh} 的结果不符；请一步一步重新计算")

    def _check_kv(self, kv: float) -> None:
        config = LLAMA_31_CONFIGS[SIZING_MODEL]
        target = ModelShape.from_config(SIZING_MODEL, config).kv_bytes_per_token(SIZING_DTYPE)
        ratio_heads = config["num_attention_heads"] / config["num_key_value_heads"]
        self._diagnose("kv_bytes_per_token", kv, target, [
            (target / 2, "that is keys or values only: the cache holds both (x2)",
             "这只算了键或值：缓存两者都要存（x2）"),
            (target * ratio_heads, "that counts every attention head: grouped-query attention stores only the KV "
                                   "heads (`num_key_value_heads`)",
             "这把每个注意力头都算进去了：分组查询注意力只存 KV 头（`num_key_value_heads`）"),
            (target * 8, "that is bits: bfloat16 takes 2 bytes per value", "这是比特数：bfloat16 每个值占 2 个字节"),
            (target / config["num_hidden_layers"], "that is one layer: every layer keeps its own keys and values",
             "这只是一层：每一层都保存自己的键和值"),
        ], "2 x layers x KV heads x head dimension x bytes per value", "2 x 层数 x KV 头数 x 头维度 x 每个数值的字节数")

    def _check_sequences(self, sequences: float) -> None:
        shape = ModelShape.from_config(SIZING_MODEL, LLAMA_31_CONFIGS[SIZING_MODEL])
        fit = will_it_fit(shape, SIZING_GPU_GIB * GIB, batch=1, context=SIZING_CONTEXT, utilization=SIZING_UTILIZATION)
        per_sequence = fit.kv_per_token * SIZING_CONTEXT
        device = SIZING_GPU_GIB * GIB
        self._diagnose("max_sequences", sequences, fit.max_batch, [
            (device * SIZING_UTILIZATION / per_sequence, "the weights were not subtracted: they take their share of "
                                                        "memory before the KV cache",
                                                        "没有减去权重：权重先占用了一部分显存"),
            ((device - fit.weights) // per_sequence, f"that uses the whole GPU: the engine may use "
                                                     f"{SIZING_UTILIZATION:.0%} of it (--gpu-memory-utilization)",
             f"这用了整块 GPU：引擎只能使用其中的 {SIZING_UTILIZATION:.0%}（--gpu-memory-utilization）"),
            (fit.pool_tokens, "that is tokens: divide by the tokens of one sequence",
             "这是词元数：还要除以一个序列的词元数"),
            ((device * SIZING_UTILIZATION - fit.weights * 2) // per_sequence,
             "the weights were counted in float32: the model is served in bfloat16 (2 bytes)",
             "权重按 float32 计算了：模型以 bfloat16（2 字节）部署"),
        ], "(memory share - weights) / (KV per token x context)", "（可用显存 - 权重）/（每词元 KV x 上下文长度）")

    def _check_price(self, price: float) -> None:
        hourly = PRICES[SIZING_PRICE].usd_per_hour
        target = cost_per_million_tokens(SIZING_TOKENS_PER_S, hourly)
        self._diagnose("usd_per_million_tokens", price, target, [
            (target * 3600, "that prices a million tokens per second of work: the price is per hour (x3,600 s)",
             "这是按秒计价的结果：价格是按小时计的（x3,600 秒）"),
            (target / 1e6, "that is the price of one token, not of a million", "这是一个词元的价格，不是一百万个"),
            (SIZING_TOKENS_PER_S * 3600 / 1e6 / hourly, "that is upside down: millions of tokens per dollar",
             "这算反了：这是每美元能买到的百万词元数"),
        ], "price per hour / (tokens per second x 3,600) x 1,000,000", "每小时价格 / (每秒词元数 x 3,600) x 1,000,000")
