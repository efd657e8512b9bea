"""docker-compose.yml cannot be started here (no Docker engine): check what it must contain."""

from __future__ import annotations

import re

import pytest
import yaml

from casehistory.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())


AIRFLOW_SERVICES = ["airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]


def test_compose_has_postgres_and_the_airflow_3_services(compose):
    assert set(compose["services"]) >= {"postgres", *AIRFLOW_SERVICES}
    commands = {name: compose["services"][name]["command"] for name in AIRFLOW_SERVICES[1:]}
    assert commands == {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                        "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}


def test_airflow_uses_postgres_for_its_metadata(compose):
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert "postgres" in compose["services"][name]["depends_on"]


def test_the_dags_folder_is_mounted_where_airflow_looks(compose):
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        dags_folder = service["environment"]["AIRFLOW__CORE__DAGS_FOLDER"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert mounts.get(dags_folder) == "./dags"


def test_data_and_the_metadata_database_live_on_named_volumes(compose):
    assert {"postgres-db", "casehistory-data"} <= set(compose["volumes"])
    assert "postgres-db:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        data_dir = service["environment"]["CASEHISTORY_WAREHOUSE"].rsplit("/", 1)[0]
        assert f"casehistory-data:{data_dir}" in service["volumes"]


def test_the_pseudonym_key_comes_from_a_secret_outside_the_repository(compose):
    assert "pseudonym_key" in compose["secrets"]
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        assert service["environment"]["CASEHISTORY_PSEUDONYM_KEY_FILE"] == "/run/secrets/pseudonym_key"
        assert "CASEHISTORY_PSEUDONYM_KEY" not in service["environment"]


def test_the_image_is_built_from_the_locked_environment():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.1.8-python3.11" in dockerfile
    assert "requirements.lock" in dockerfile


# `docker compose config` needs the compose plugin, which this machine lacks: interpolate the way
# compose does (${VAR}, ${VAR:-default}, ${VAR:?error}) with the values .env.example gives.
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def _env_example() -> dict[str, str]:
    values = {}
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_every_variable_compose_reads_is_in_the_env_example_and_the_required_ones_are_set():
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    example = _env_example()
    used = {m.group(1): m.group(2) for m in _VARIABLE.finditer(text)}
    assert set(used) <= set(example), sorted(set(used) - set(example))
    required = [name for name, kind in used.items() if kind == "?" or kind is None]
    assert all(example[name] for name in required), required


def test_the_env_example_configures_schedule_alerts_and_rollback_for_every_airflow_service(compose):
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        for key in ("CASEHISTORY_SCHEDULE", "CASEHISTORY_ALERT_CHANNEL", "CASEHISTORY_ALERT_WEBHOOK_URL",
                    "CASEHISTORY_ALERT_SMTP_HOST", "CASEHISTORY_ALERT_EMAIL_TO", "CASEHISTORY_KEEP_VERSIONS",
                    "CASEHISTORY_RETRY_DELAY_SECONDS"):
            assert key in env, (name, key)
        # Airflow 3's components sign and check task tokens with one shared secret
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:?")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"


def test_env_files_with_secrets_are_never_committed_nor_built_into_the_image():
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
