# The Airflow image of the compose stack: the official image plus this project's runtime requirements.
#
# AIRFLOW_VERSION is the one place the image's Airflow version is set; it must equal the apache-airflow pin of
# requirements.txt and constraints.txt (tests/unit/test_deployment.py checks all three). pip installs with
# constraints.txt and is told to keep that Airflow version, so a mismatch fails the build instead of
# silently upgrading or downgrading the Airflow of the base image.
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
ARG AIRFLOW_VERSION

WORKDIR /opt/airflow
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
# requirements.txt installs the provider from this path; compose mounts ./include over it at run time.
COPY --chown=airflow:0 include/airflow-provider-jdcloud /opt/airflow/include/airflow-provider-jdcloud
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r requirements.txt -c constraints.txt
