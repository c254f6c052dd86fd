# papersbot container image: `docker build -t papersbot .` then see compose.yaml.
# Two stages: the first installs papersbot and its runtime dependencies (no dev tools)
# into a virtualenv; the second copies only that virtualenv onto a clean slim Python.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY adapters ./adapters
RUN python -m venv /opt/papersbot \
    && /opt/papersbot/bin/pip install --no-cache-dir . \
    && /opt/papersbot/bin/papersbot --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="papersbot" \
      org.opencontainers.image.description="Trending research papers in Slack and Discord" \
      org.opencontainers.image.licenses="MIT"
# A fixed, unprivileged user; /data (the volume) is the only place it writes.
RUN useradd --system --no-log-init --uid 10001 --user-group \
        --home-dir /data --shell /usr/sbin/nologin papersbot \
    && mkdir /data \
    && chown papersbot:papersbot /data
COPY --from=build /opt/papersbot /opt/papersbot
ENV PATH=/opt/papersbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PAPERSBOT_DATABASE=/data/papersbot.db \
    PAPERSBOT_HEALTH_HOST=0.0.0.0 \
    PAPERSBOT_HEALTH_PORT=8080
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
# 8080: /healthz, /readyz, /metrics. 3000: Slack HTTP mode (/slack/events), if used.
EXPOSE 8080 3000
# GET /healthz on the operations server with the standard library: no curl in the image,
# and a tenth of the start-up cost of the papersbot command itself.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request\nurl = 'http://127.0.0.1:%s/healthz' % os.environ['PAPERSBOT_HEALTH_PORT']\ntry:\n    urllib.request.urlopen(url, timeout=5)\nexcept Exception as exc:\n    sys.exit('unhealthy: %s: %s' % (url, exc))"]
STOPSIGNAL SIGTERM
CMD ["papersbot", "run"]
