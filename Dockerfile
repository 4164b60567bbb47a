# IDSync in a container: `idsync sync --yes --every 1h` until stopped (docker stop sends SIGTERM:
# the postings in flight finish and are journaled). See the README's "Running it in a container".
#
#   docker build -t idsync .
#   docker run -d --name idsync --stop-timeout 120 --env-file /etc/idsync/secrets.env \
#     -v /etc/idsync:/etc/idsync:ro -v idsync-data:/var/lib/idsync idsync
#
# The steps are those `.ci/run` proves on every run: the wheels built by .ci/build-wheels,
# installed non-editable into a fresh virtualenv.

FROM python:3.12-slim AS wheels
WORKDIR /src
COPY . .
RUN python -m pip install --no-cache-dir "build>=1.2" "hatchling>=1.21" \
 && PYTHON=python .ci/build-wheels /wheels

FROM python:3.12-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/idsync --create-home idsync \
 && mkdir -p /etc/idsync
COPY --from=wheels /wheels /tmp/wheels
RUN python -m venv /opt/idsync/.venv \
 && /opt/idsync/.venv/bin/python -m pip install --no-cache-dir /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels
# Settings: the config file (a volume, read-only is fine) and secrets from the environment
# (IDSYNC_PSA__PRIVATE_KEY, IDSYNC_PROVIDERS__INGRAM__PASSWORD, ...); the store on a volume.
ENV PATH=/opt/idsync/.venv/bin:$PATH \
    IDSYNC_CONFIG=/etc/idsync/idsync.toml \
    IDSYNC_STORE__URL=sqlite:////var/lib/idsync/idsync.db \
    PYTHONUNBUFFERED=1
VOLUME ["/etc/idsync", "/var/lib/idsync"]
USER idsync
WORKDIR /var/lib/idsync
# Every connection reachable and its credentials accepted (it reads, never posts).
HEALTHCHECK --interval=15m --timeout=2m --start-period=1m --retries=2 CMD ["idsync", "check"]
ENTRYPOINT ["idsync"]
CMD ["sync", "--yes", "--every", "1h"]
