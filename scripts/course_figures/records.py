"""The data files behind lesson 2's figures: one JSON per figure, with how and where it was recorded.

Every file is {"figure", "version", "meta": {"command", "date_utc", "machine", "note"}, "data": {...}};
`meta.command` is the exact command line that wrote it, so anyone can record it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

from . import config


def machine() -> dict[str, Any]:
    """What the numbers were taken on: CPU, cores, Python, torch, and the load average at the time."""
    import torch

    info: dict[str, Any] = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                            "cpu_count": os.cpu_count(), "python": platform.python_version(),
                            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if hasattr(os, "getloadavg"):
        info["load_average_1m"] = round(os.getloadavg()[0], 2)
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, relative to the repository root where possible."""
    args = list(sys.argv if argv is None else argv)
    if args and Path(args[0]).is_absolute():
        with contextlib.suppress(ValueError):                 # outside the repository: kept absolute
            args[0] = str(Path(args[0]).relative_to(config.ROOT))
    return "python " + shlex.join(args)


def data_path(name: str, out_dir: Path | None = None) -> Path:
    if name not in config.NAMES:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(config.NAMES)}")
    return (out_dir or config.DATA_DIR) / f"{name}.json"


def write(name: str, data: dict[str, Any], out_dir: Path | None = None, note: str = config.BUSY_MACHINE_NOTE,
          argv: list[str] | None = None) -> Path:
    """Write figure `name`'s data with its metadata; returns the path."""
    path = data_path(name, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"figure": name, "version": config.DATA_VERSION,
              "meta": {"command": command_line(argv), "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(
                  timespec="seconds"), "machine": machine(), "note": note},
              "data": data}
    path.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    return path


def read(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    """The `data` part of figure `name`'s file; a clear error when it is missing or malformed."""
    path = data_path(name, data_dir)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: record it with `make record-figures` "
                                f"(benchmarks/figures/record_{name}.py)")
    record = json.loads(path.read_text())
    for key in ("figure", "version", "meta", "data"):
        if key not in record:
            raise ValueError(f"{path}: no {key!r} field")
    if record["figure"] != name or record["version"] != config.DATA_VERSION:
        raise ValueError(f"{path}: figure {record['figure']!r} version {record['version']} "
                         f"(expected {name!r} version {config.DATA_VERSION})")
    if not record["meta"].get("command"):
        raise ValueError(f"{path}: meta.command is empty (the command that recorded it)")
    return record["data"]


def captions() -> dict[str, Any]:
    """captions.json: {name: {"en": {"caption", "alt"}, "zh": {...}}} for every figure."""
    return json.loads(config.CAPTIONS_FILE.read_text())
