"""docker-compose.yml cannot be started here (no Docker engine): check what it must contain."""

from __future__ import annotations

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
