# syntax=docker/dockerfile:1
# Veil server image: `docker build -t veil .`, then
#   docker run -d -p 50051:50051 -p 8080:8080 -v veil-data:/data veil
#   docker exec <container> veil admin bootstrap --data-dir /data   (prints the first API key)
#
# Two stages: the builder turns the source into a wheel and installs it with its extras into a
# virtualenv; the runtime stage copies only that virtualenv, so no compiler, source tree or pip
# cache ends up in the image.
#
# torch: the `dp` extra pins torch==2.13.0 (pyproject.toml). The build takes it, like every
# other dependency, from the index pip is configured with (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL
# build args below, e.g. a mirror that carries the CPU-only wheels); no extra host is hard-coded.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the build needs (see .dockerignore): metadata first, then the packages.
COPY pyproject.toml README.md ./
COPY service ./service
COPY client ./client
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir "pip==25.3" "setuptools==80.9.0" "wheel==0.45.1" \
    && /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir "$(ls /wheels/veil-*.whl)[dp,reports,web,scale]" \
    && /opt/venv/bin/veil --help > /dev/null

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="veil" \
      org.opencontainers.image.description="Veil privacy service: avatar anonymization and differentially private queries over gRPC"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VEIL_LOG_FORMAT=json
# A fixed uid/gid so a host-mounted /data can be chowned to match.
RUN groupadd --system --gid 10001 veil \
    && useradd --system --uid 10001 --gid veil --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin veil \
    && mkdir /data \
    && chown veil:veil /data
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# 50051: gRPC API; 8080: the web application (put TLS in front of it: its cookies are Secure).
EXPOSE 50051 8080
# gRPC health (grpc.health.v1): SERVING only once the database and the engine are ready, and
# NOT_SERVING as soon as a graceful stop begins. start-period covers migrations + engine start.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "veil_service.healthcheck", "--address", "localhost:50051", "--timeout", "4"]
# SIGTERM (docker stop) makes veil serve report NOT_SERVING and let running calls finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["veil"]
CMD ["serve", "--host", "0.0.0.0", "--data-dir", "/data", "--web-port", "8080"]
