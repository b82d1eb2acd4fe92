"""Model resolution (smol_inference.models): the order explicit > COURSE_MODEL > Hub > bundled."""

from __future__ import annotations

import pytest

from smol_inference import TINY_MODEL, models, resolve_model, settings


def test_explicit_name_wins_over_environment(monkeypatch):
    monkeypatch.setenv(settings.ENV_COURSE_MODEL, "some/other-model")
    assert resolve_model("my/model", quiet=True) == "my/model"


def test_course_model_environment_wins_over_offline(monkeypatch):
    monkeypatch.setenv(settings.ENV_HF_OFFLINE, "1")
    monkeypatch.setenv(settings.ENV_COURSE_MODEL, "some/other-model")
    assert resolve_model(quiet=True) == "some/other-model"


def test_offline_gives_bundled_model_and_says_why(monkeypatch, capsys):
    monkeypatch.delenv(settings.ENV_COURSE_MODEL, raising=False)
    monkeypatch.setenv(settings.ENV_HF_OFFLINE, "1")
    assert resolve_model() == TINY_MODEL
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0 and "tiny-instruct" in line and "HF_HUB_OFFLINE" in line


def test_unreachable_hub_falls_back_to_bundled_model(monkeypatch):
    monkeypatch.delenv(settings.ENV_COURSE_MODEL, raising=False)
    monkeypatch.delenv(settings.ENV_HF_OFFLINE, raising=False)
    # A port on loopback that nobody listens on: the probe fails fast, like an offline laptop.
    monkeypatch.setattr(settings, "HUB_PROBE_URL", "http://127.0.0.1:9/unreachable")
    chosen = models.choose_model()
    assert chosen.name == TINY_MODEL and "cannot be reached" in chosen.reason


def test_alias_expands_to_bundled_folder(monkeypatch):
    monkeypatch.setenv(settings.ENV_COURSE_MODEL, "tiny-instruct")
    assert resolve_model(quiet=True) == TINY_MODEL
    assert resolve_model("tiny-instruct", quiet=True) == TINY_MODEL


def test_missing_local_path_is_a_readable_error():
    with pytest.raises(FileNotFoundError, match="does not exist"):
        models.check_model_exists("./no/such/model")


def test_unknown_architecture_lists_known_ones():
    with pytest.raises(ValueError, match="smollm2-135m"):
        models.architecture_config("gpt-17")


def test_random_model_has_smollm2_135m_shape():
    config = models.architecture_config("smollm2-135m")
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (576, 30, 49152)
    model = models.build_random_model("smollm2-135m")
    n_params = sum(p.numel() for p in model.parameters())
    assert 130e6 < n_params < 140e6  # SmolLM2-135M, tied embeddings
