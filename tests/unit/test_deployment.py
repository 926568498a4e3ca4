"""Static checks of the team deployment: Dockerfile, docker-compose.yaml, .dockerignore, .env.example.

The stack itself needs a Docker engine; ``make compose-lint`` validates the compose file with Compose itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "jdcloud-seed",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def _pin(path: str, package: str) -> str:
    pins = re.findall(rf"^{re.escape(package)}==(\S+)$", (REPO / path).read_text(), flags=re.MULTILINE)
    assert len(pins) == 1, f"{path}: expected one pin of {package}, found {pins}"
    return pins[0]


def test_the_image_airflow_version_is_the_pinned_one() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    (version,) = re.findall(r"^ARG AIRFLOW_VERSION=(\S+)$", dockerfile, flags=re.MULTILINE)
    assert version == _pin("requirements.txt", "apache-airflow")
    assert version == _pin("constraints.txt", "apache-airflow") == _pin("constraints.txt", "apache-airflow-core")
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python3.11" in dockerfile
    install = next(line for line in dockerfile.splitlines() if line.startswith("RUN pip install"))
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install and "-c constraints.txt" in install


def test_every_image_is_built_from_the_dockerfile_without_overriding_its_version(compose: dict) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
    assert "AIRFLOW_VERSION" not in (REPO / ".env.example").read_text()


def test_the_env_file_is_optional(compose: dict) -> None:
    for name in AIRFLOW_SERVICES:
        assert compose["services"][name]["env_file"] == [{"path": "${ENV_FILE_PATH:-.env}", "required": False}]


def test_every_airflow_component_reads_the_shared_secrets_from_the_volume(compose: dict) -> None:
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        env = service["environment"]
        assert env["AIRFLOW__CORE__FERNET_KEY_CMD"] == "cat /opt/airflow/secrets/fernet_key", name
        assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == "cat /opt/airflow/secrets/jwt_secret", name
        assert env["AIRFLOW__API__SECRET_KEY_CMD"] == "cat /opt/airflow/secrets/api_secret_key", name
        # A value set directly would win over the file, and an empty one turns encryption off.
        assert not {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"} & set(env)
        assert "airflow-secrets:/opt/airflow/secrets" in service["volumes"], name
    init = compose["services"]["airflow-init"]["command"][-1]
    assert init.index("include.jdcloud_vpn.stack_secrets") < init.index("/entrypoint airflow version")


def test_the_emulator_is_behind_its_profile_and_nothing_else_needs_it(compose: dict) -> None:
    services = compose["services"]
    assert services["jdcloud-emulator"]["profiles"] == services["jdcloud-seed"]["profiles"] == ["emulator"]
    for name, service in services.items():
        if "profiles" not in service:
            assert "jdcloud-emulator" not in service.get("depends_on", {}), name
            assert "AIRFLOW_CONN_JDCLOUD_DEFAULT" not in service.get("environment", {}), name
    assert "\nAIRFLOW_CONN_JDCLOUD_DEFAULT=" not in (REPO / ".env.example").read_text()


def test_the_build_context_leaves_out_the_venv_git_secrets_and_artifacts() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".venv", ".git", ".env", "reports", "logs", ".pytest_cache", "**/__pycache__"} <= ignored
    copied = {"requirements.txt", "constraints.txt", "include", "include/airflow-provider-jdcloud", "Dockerfile"}
    assert not copied & ignored
