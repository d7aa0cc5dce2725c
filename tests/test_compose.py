"""docker-compose.yml, Dockerfile and .env.example agree and keep secrets out of the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)  # `<<` merge keys resolved
SERVICES: dict[str, Any] = COMPOSE["services"]
AIRFLOW = [
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
]
LONG_RUNNING = [s for s in AIRFLOW if s != "airflow-init"]
# ${VAR}, ${VAR:-default}, ${VAR:?message}, ${VAR-x}, ${VAR?x}; "$${X}" is an escaped literal.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")


def documented() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def env_of(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    assert isinstance(env, dict), f"{service}: environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def test_services_and_profiles() -> None:
    assert {"postgres", *AIRFLOW} <= set(SERVICES)
    for name in ["postgres", *AIRFLOW]:
        assert "profiles" not in SERVICES[name], name
    for name in ["redis", "airflow-worker"]:
        assert SERVICES[name]["profiles"] == ["celery"]


def test_long_running_services_have_healthchecks() -> None:
    for name in ["postgres", "redis", "airflow-worker", *LONG_RUNNING]:
        check = SERVICES[name].get("healthcheck")
        assert check and check["test"], name
    assert "/api/v2/monitor/health" in str(SERVICES["airflow-apiserver"]["healthcheck"]["test"])
    assert ":8974/health" in str(SERVICES["airflow-scheduler"]["healthcheck"]["test"])
    assert env_of("airflow-scheduler")["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_airflow_services_wait_for_postgres_and_init() -> None:
    for name in AIRFLOW:
        assert SERVICES[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in LONG_RUNNING:
        init = SERVICES[name]["depends_on"]["airflow-init"]
        assert init["condition"] == "service_completed_successfully", name


@pytest.mark.parametrize("service", [*AIRFLOW, "airflow-worker"])
def test_project_folders_are_mounted(service: str) -> None:
    targets = {v.split(":")[1]: v.split(":")[0] for v in SERVICES[service]["volumes"]}
    for folder in ["dags", "plugins", "sql", "config"]:
        assert targets[f"/opt/airflow/{folder}"] == f"./{folder}", service
    assert env_of(service)["SINORUS_SQL_DIR"] == "/opt/airflow/sql"


@pytest.mark.parametrize("service", [*AIRFLOW, "airflow-worker"])
def test_shared_settings_reach_every_airflow_container(service: str) -> None:
    env = env_of(service)
    for name in [
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW_CONN_SINORUS_DB",
        "SINORUS_DATABASE_URL",
    ]:
        assert name in env, (service, name)
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-apiserver:8080/execution/"
    )


def test_local_executor_is_the_default() -> None:
    executor = env_of("airflow-scheduler")["AIRFLOW__CORE__EXECUTOR"]
    match = INTERPOLATION.fullmatch(executor)
    assert match is not None
    assert match.group(1) == "AIRFLOW__CORE__EXECUTOR"
    assert (match.group(2), match.group(3)) == (":-", "LocalExecutor")


def test_every_variable_is_documented_in_env_example() -> None:
    used = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE_TEXT)}
    assert used, "the compose file reads its settings from the environment"
    missing = used - documented()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_secrets_have_no_defaults() -> None:
    uses = list(INTERPOLATION.finditer(COMPOSE_TEXT))
    secrets = [m for m in uses if SECRET_NAME.search(m.group(1))]
    names = {m.group(1) for m in secrets}
    assert {
        "POSTGRES_PASSWORD",
        "SINORUS_DB_PASSWORD",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
    } <= names
    for m in secrets:
        assert m.group(2) == ":?", f"{m.group(0)}: a secret must be required, never defaulted"
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in names:
        assert re.search(rf"^{name}=$", example, flags=re.MULTILINE), f"{name} given a value"


def test_no_literal_credentials_in_urls_or_passwords() -> None:
    for service, spec in SERVICES.items():
        for key, value in (spec.get("environment") or {}).items():
            text = str(value)
            if SECRET_NAME.search(key) and text and not key.endswith("_FILE"):
                assert text.startswith("${"), (service, key)
            for userinfo in re.findall(r"://[^/@\s]*:([^/@\s]*)@", text):
                assert userinfo.startswith("${"), (service, key)


def test_published_ports_bind_loopback_by_default() -> None:
    for service, spec in SERVICES.items():
        for port in spec.get("ports", []):
            host = re.match(r"(\$\{[^}]*\}|[^:]*):", str(port))
            assert host is not None, (service, port)
            match = INTERPOLATION.fullmatch(host.group(1))
            bind = match.group(3) if match else host.group(1)
            assert bind == "127.0.0.1", (service, port)
    assert "ports" not in SERVICES["postgres"]


def test_init_prepares_airflow_and_sinorus() -> None:
    script = " ".join(SERVICES["airflow-init"]["command"])
    for step in [
        "airflow db migrate",
        "CREATE DATABASE sinorus",
        "airflow pools set sinorus_fetch",
        "sinorus migrate",
    ]:
        assert step in script, step


def test_dockerfile_builds_on_airflow_with_our_constraints() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11$", text, flags=re.MULTILINE)
    assert re.search(r"pip install .*-c \S*constraints\.txt", text)
    assert all(SERVICES[s].get("build") == "." for s in AIRFLOW)
