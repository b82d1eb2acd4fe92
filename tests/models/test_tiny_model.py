"""The shipped tiny-instruct model answers its held-out evaluation set (>= 95% exact match)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from smol_inference import settings

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_tiny_model.py"


@pytest.fixture(scope="module")
def trainer():
    spec = importlib.util.spec_from_file_location("train_tiny_model", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bundled_model_is_small_safetensors():
    files = {p.name: p.stat().st_size for p in settings.TINY_MODEL_DIR.iterdir()}
    assert "model.safetensors" in files and "tokenizer.json" in files
    assert sum(files.values()) < 10 * 1024 * 1024


def test_held_out_accuracy_on_shipped_files(trainer):
    model, tokenizer = trainer.load(settings.TINY_MODEL_DIR)
    items = trainer.evaluation_set()
    assert len({question[0]["content"] for question, _ in items}) > 100  # a real sample, not a few prompts
    assert trainer.evaluate(model, tokenizer, items) >= trainer.REQUIRED_ACCURACY


def test_evaluation_is_drawn_with_another_seed(trainer):
    assert trainer.EVAL_SEED != trainer.TRAIN_SEED
    assert trainer.evaluation_set(seed=1) != trainer.evaluation_set(seed=2)


def test_chat_template_is_chatml():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(settings.TINY_MODEL)
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False,
                                         add_generation_prompt=True)
    assert text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
