"""Monitoring llama.cpp (docker/monitoring): the dashboard and alerts query only what llama-server exports.

promtool validates the scrape config and the rules in tests/course_checks/test_docker_files.py (its globs pick up
prometheus-llamacpp.yml and alerts-llamacpp.yml); here the names are checked against a live scrape of
the real server after real requests, and the scrape itself is linted by `promtool check metrics`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from smol_inference.client import Metrics


MONITORING = Path(__file__).resolve().parents[2] / "docker" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "llamacpp.json"
ALERTS = MONITORING / "prometheus" / "alerts-llamacpp.yml"
SCRAPE = MONITORING / "prometheus" / "prometheus-llamacpp.yml"


def _queried() -> set[str]:
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    exprs += [rule["expr"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    assert not any("tgi_" in e or "vllm:" in e for e in exprs)
    return set(re.findall(r"llamacpp:[a-z_]+", " ".join(exprs)))


def test_dashboard_answers_the_lessons_questions() -> None:
    titles = " ".join(p["title"] for p in json.loads(DASHBOARD.read_text())["panels"]).lower()
    for topic in ("output tokens per second", "deferred", "batch size", "prompt"):
        assert topic in titles, topic
    config = yaml.safe_load(SCRAPE.read_text())
    assert config["rule_files"] == [ALERTS.name] and config["scrape_configs"][0]["job_name"] == "llamacpp"


def test_every_queried_name_is_exported_by_llama_server(llama) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "temperature": 0}
    assert httpx.post(f"{llama.url}/v1/chat/completions", json=body, timeout=60).status_code == 200
    text = httpx.get(f"{llama.url}/metrics", timeout=10).text
    queried = _queried()
    assert len(queried) >= 8, queried
    missing = sorted(queried - Metrics.parse(text).names())
    assert not missing, f"the dashboard or alerts query names llama-server does not export: {missing}"


def test_promtool_parses_the_scrape(llama) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install -y --no-install-recommends prometheus)")
    text = httpx.get(f"{llama.url}/metrics", timeout=10).text
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    # Lint remarks (exit 3) are style advice; exit 1 would mean text Prometheus cannot parse.
    assert done.returncode in (0, 3), done.stdout + done.stderr
    broken = subprocess.run([promtool, "check", "metrics"], input=text + "broken{ 1\n", capture_output=True,
                            text=True, timeout=60)
    assert broken.returncode == 1  # and it does tell unparsable text from lint
