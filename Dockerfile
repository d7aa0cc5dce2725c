# The Airflow image with the sinorus package installed, for docker-compose.yml.
# Build: docker compose build   (the compose file builds it as sinorus-watch-airflow)
FROM apache/airflow:3.3.2-python3.11

# Exactly the versions the test suite ran with; the same constraints file as `make install`.
COPY --chown=airflow:0 pyproject.toml constraints.txt README.md /opt/sinorus/
COPY --chown=airflow:0 plugins/sinorus /opt/sinorus/plugins/sinorus
COPY --chown=airflow:0 sql /opt/sinorus/sql
RUN pip install --no-cache-dir -c /opt/sinorus/constraints.txt /opt/sinorus

# The installed package cannot find the project's sql/ relative to itself; compose mounts the
# live ./sql over this copy.
ENV SINORUS_SQL_DIR=/opt/sinorus/sql
