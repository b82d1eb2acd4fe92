"""Lesson 1, exercise 1: create a pipeline and run its three stages by hand.

The learner builds `my_pipe` with `transformers.pipeline` on the device and dtype the exercise asks
for (EX1_DEVICE, EX1_DTYPE), then runs the stages the pipeline hides: tokenise (chat template and
tokenizer -> `my_input_ids` [1, prompt_len]), one forward pass (`my_logits` [1, prompt_len, vocab_size]),
decode (the most likely next token as text, `my_next_token`). The check recomputes each stage from the
learner's own pipeline. inference_pipeline.md, "How a pipeline works".
"""

from __future__ import annotations

from typing import Any, ClassVar

from .core import Exercise

SOLUTION = '''
import torch
from transformers import pipeline

my_pipe = pipeline("text-generation", model=MODEL, device=EX1_DEVICE, dtype=EX1_DTYPE)
my_pipe.tokenizer.padding_side = "left"
if my_pipe.tokenizer.pad_token is None:
    my_pipe.tokenizer.pad_token = my_pipe.tokenizer.eos_token

messages = [{"role": "user", "content": EX1_QUESTION}]
prompt = my_pipe.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
my_input_ids = my_pipe.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
my_input_ids = my_input_ids.to(my_pipe.device)  # [1, prompt_len]
with torch.no_grad():
    my_logits = my_pipe.model(my_input_ids).logits  # [1, prompt_len, vocab_size]
my_next_token = my_pipe.tokenizer.decode(int(my_logits[0, -1].argmax()))
print(tuple(my_input_ids.shape), tuple(my_logits.shape), repr(my_next_token))
'''


class CreatePipeline(Exercise):
    """Check `my_pipe`, `my_input_ids`, `my_logits`, `my_next_token` against EX1_DEVICE, EX1_DTYPE, EX1_QUESTION."""

    names: ClassVar[tuple[str, ...]] = ("my_pipe", "my_input_ids", "my_logits", "my_next_token")
    hints: ClassVar[dict[str, str]] = {
        "en": ("pipeline('text-generation', model=MODEL, device=..., dtype=...) takes the device and dtype; "
               "set tokenizer.padding_side = 'left'. Format the question with "
               "tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True), tokenize "
               "it with add_special_tokens=False and return_tensors='pt', call my_pipe.model(input_ids).logits "
               "under torch.no_grad(), and decode the argmax of the LAST position."),
        "zh": ("pipeline('text-generation', model=MODEL, device=..., dtype=...) 接受设备和精度；设置 "
               "tokenizer.padding_side = 'left'。用 tokenizer.apply_chat_template(messages, tokenize=False, "
               "add_generation_prompt=True) 套用聊天模板，再以 add_special_tokens=False、return_tensors='pt' "
               "分词；在 torch.no_grad() 下调用 my_pipe.model(input_ids).logits，并解码**最后一个**位置的 argmax。"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        import torch

        pipe, input_ids, logits, next_token = self.learner()
        device, dtype = self.given("EX1_DEVICE"), self.given("EX1_DTYPE")
        question, reference = self.given("EX1_QUESTION"), self.given("generator")
        self._check_pipeline(pipe, torch.device(device), dtype, reference)
        tokenizer, model = pipe.tokenizer, pipe.model
        self._check_input_ids(input_ids, tokenizer, question, torch)
        self._check_logits(logits, input_ids, model, dtype, torch)
        expected = tokenizer.decode(int(logits[0, -1].float().argmax()))
        self.expect(isinstance(next_token, str),
                    f"`my_next_token` should be text (a str), got {type(next_token).__name__}: decode the token id",
                    f"`my_next_token` 应为文本（str），实际是 {type(next_token).__name__}：请解码词元 id")
        self.expect(next_token == expected,
                    f"`my_next_token` is {next_token!r}, but the most likely next token after the prompt is "
                    f"{expected!r}: take the argmax of logits[0, -1] (the last position) and decode it",
                    f"`my_next_token` 是 {next_token!r}，但提示词之后最可能的下一个词元是 {expected!r}："
                    f"对 logits[0, -1]（最后一个位置）取 argmax 再解码")

    def _check_pipeline(self, pipe: Any, device: Any, dtype: Any, reference: Any) -> None:
        self.expect(hasattr(pipe, "model") and hasattr(pipe, "tokenizer") and callable(pipe),
                    "`my_pipe` should be a transformers pipeline: pipeline('text-generation', model=MODEL, ...)",
                    "`my_pipe` 应为 transformers 的 pipeline：pipeline('text-generation', model=MODEL, ...)")
        self.expect(getattr(pipe, "task", "") == "text-generation",
                    f"`my_pipe` is a {getattr(pipe, 'task', '?')!r} pipeline: ask for 'text-generation'",
                    f"`my_pipe` 是 {getattr(pipe, 'task', '?')!r} 类型：请使用 'text-generation'")
        self.expect(pipe.model.name_or_path == reference.model.name_or_path,
                    f"`my_pipe` serves {pipe.model.name_or_path!r}, not MODEL ({reference.model.name_or_path!r})",
                    f"`my_pipe` 加载的是 {pipe.model.name_or_path!r}，而不是 MODEL（{reference.model.name_or_path!r}）")
        self.expect(pipe.device == device,
                    f"`my_pipe` runs on {pipe.device}, the exercise asks for {device}: pass device=EX1_DEVICE",
                    f"`my_pipe` 运行在 {pipe.device} 上，练习要求 {device}：请传入 device=EX1_DEVICE")
        self.expect(pipe.model.dtype == dtype,
                    f"`my_pipe`'s weights are {pipe.model.dtype}, the exercise asks for {dtype}: pass dtype=EX1_DTYPE",
                    f"`my_pipe` 的权重精度是 {pipe.model.dtype}，练习要求 {dtype}：请传入 dtype=EX1_DTYPE")
        self.expect(pipe.tokenizer.padding_side == "left" and pipe.tokenizer.pad_token is not None,
                    "set up batching: tokenizer.padding_side = 'left' and a pad token (the EOS token will do)",
                    "请为批处理做准备：tokenizer.padding_side = 'left'，并设置填充词元（可用 EOS 词元）")

    def _check_input_ids(self, input_ids: Any, tokenizer: Any, question: str, torch: Any) -> None:
        self.expect(isinstance(input_ids, torch.Tensor) and input_ids.dim() == 2 and input_ids.shape[0] == 1,
                    f"`my_input_ids` should be a tensor of shape [1, prompt_len], got {_shape(input_ids)}: "
                    "tokenize with return_tensors='pt'",
                    f"`my_input_ids` 应为形状 [1, prompt_len] 的张量，实际是 {_shape(input_ids)}："
                    "分词时传入 return_tensors='pt'")
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                               add_generation_prompt=True)
        accepted = [tokenizer(prompt, add_special_tokens=flag)["input_ids"] for flag in (False, True)]
        got = input_ids[0].tolist()
        bare = tokenizer(question, add_special_tokens=False)["input_ids"]
        self.expect(got != bare and len(got) > len(bare),
                    f"`my_input_ids` holds only the question ({len(got)} tokens): apply the chat template first",
                    f"`my_input_ids` 只包含问题本身（{len(got)} 个词元）：请先套用聊天模板")
        self.expect(got in accepted,
                    f"`my_input_ids` ({len(got)} tokens) is not EX1_QUESTION formatted with the chat template "
                    f"({len(accepted[0])} tokens): apply_chat_template(..., add_generation_prompt=True)",
                    f"`my_input_ids`（{len(got)} 个词元）不是套用聊天模板后的 EX1_QUESTION（{len(accepted[0])} 个 "
                    "词元）：请用 apply_chat_template(..., add_generation_prompt=True)")

    def _check_logits(self, logits: Any, input_ids: Any, model: Any, dtype: Any, torch: Any) -> None:
        want = (1, input_ids.shape[1], model.config.vocab_size)
        self.expect(isinstance(logits, torch.Tensor) and tuple(logits.shape) == want,
                    f"`my_logits` should have shape [1, prompt_len, vocab_size] = {list(want)}, got {_shape(logits)}: "
                    "keep every position of model(input_ids).logits",
                    f"`my_logits` 的形状应为 [1, prompt_len, vocab_size] = {list(want)}，实际是 {_shape(logits)}："
                    "请保留 model(input_ids).logits 的所有位置")
        self.expect(logits.dtype == dtype,
                    f"`my_logits` are {logits.dtype}: compute them with my_pipe.model (weights in {dtype})",
                    f"`my_logits` 的精度是 {logits.dtype}：请用 my_pipe.model（{dtype} 权重）计算")
        with torch.no_grad():
            again = model(input_ids.to(model.device)).logits
        self.expect(torch.allclose(again.float().cpu(), logits.detach().float().cpu(), atol=1e-2, rtol=1e-2),
                    "`my_logits` differ from my_pipe.model(input_ids).logits: run the forward pass on `my_input_ids`",
                    "`my_logits` 与 my_pipe.model(input_ids).logits 不一致：请在 `my_input_ids` 上做前向计算")


def _shape(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return str(list(shape)) if shape is not None else type(value).__name__
