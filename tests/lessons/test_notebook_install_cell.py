"""The notebooks' first cell (the Colab install cell): where the course package cannot be installed it says
what to do instead of showing pip's traceback, and it finds an uploaded repository folder or wheel.

The cell's install part runs in a fresh interpreter of a virtual environment made without pip, so no
install can succeed (or reach the network) and the failure path is the one exercised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from smol_inference import settings

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
INSTALL_END = "    install_course_package()\n"


def install_part(notebook: Path) -> str:
    cell = next(c for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code")
    source = "".join(cell["source"])
    assert INSTALL_END in source, f"{notebook.name}: the first code cell does not install the course package"
    return source[: source.index(INSTALL_END) + len(INSTALL_END)]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """A Python with neither smol_inference nor pip."""
    env_dir = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    return str(env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))


def run_cell(python: str, code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}  # nothing importable
    return subprocess.run([python, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_install_cells_are_identical_and_use_the_one_repository_address():
    parts = {install_part(nb) for nb in NOTEBOOKS}
    assert len(NOTEBOOKS) >= 2 and len(parts) == 1
    assert f'REPO_URL = "{settings.REPO_URL}"' in parts.pop()


def test_failed_install_says_what_to_do_without_a_traceback(bare_python, tmp_path):
    done = run_cell(bare_python, install_part(NOTEBOOKS[0]), tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    message = done.stderr
    assert "Could not install the course package" in message and settings.REPO_URL in message
    assert "Upload the repository folder" in message and "wheel" in message


def test_an_uploaded_repository_folder_is_used(bare_python, tmp_path):
    upload = tmp_path / "llm-inference"
    (upload / "scripts" / "smol_inference").mkdir(parents=True)
    done = run_cell(bare_python, install_part(NOTEBOOKS[0]), upload)  # a notebook opened from the folder
    assert f"from {upload}" in done.stderr  # pip itself is missing here, so the install still fails
