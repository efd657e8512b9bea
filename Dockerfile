# The image docker-compose.yml runs: Airflow 3.1 with the project's locked environment.
FROM apache/airflow:3.1.8-python3.11

USER root
RUN mkdir -p /opt/casehistory && chown airflow: /opt/casehistory
USER airflow

COPY --chown=airflow: requirements.lock /opt/casehistory/requirements.lock
RUN pip install --no-cache-dir -r /opt/casehistory/requirements.lock

COPY --chown=airflow: . /opt/casehistory
RUN pip install --no-cache-dir --no-deps -e /opt/casehistory
WORKDIR /opt/casehistory
