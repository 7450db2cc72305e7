# flowdock-mock as a CI service container: configured by environment, healthy when /_mock/health is.
#   docker build -t flowdock-mock .
#   docker run --rm -p 127.0.0.1:8080:8080 -e FLOWDOCK_MOCK_SEED=7 flowdock-mock
# `make image` builds this file with podman, on a base assembled from Debian packages where no
# registry is reachable (BASE_IMAGE; docs/containers.md). Any Debian-based image with python3 >= 3.11
# first on PATH, its pip, useradd and a shell will do.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tini as PID 1 passes signals on to the server and reaps; `-e 143` makes a SIGTERM that lands
# before the server has set its handler (Python still starting) an exit 0 as well. The Debian
# base of `make image` has it; elsewhere it comes from Debian's archive.
RUN if ! command -v tini >/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends tini \
        && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    fi

# The package index of the machine that builds, if not PyPI: build arguments, so they configure
# this build only and are never part of the image's environment.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL

WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY mock_server ./mock_server
COPY spec ./spec
COPY fixtures ./fixtures
# The pinned versions CI tested; only the runtime dependencies are installed. A CA bundle for the
# index (a TLS-inspecting proxy, a private index) comes as the secret `pip-ca`
# (`--secret id=pip-ca,src=FILE`), mounted for this step only; without it the step uses the base's.
RUN --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
    && if [ -z "${PIP_INDEX_URL}" ]; then unset PIP_INDEX_URL; fi \
    && if [ -z "${PIP_EXTRA_INDEX_URL}" ]; then unset PIP_EXTRA_INDEX_URL; fi \
    && pip install --constraint constraints.txt . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin flowdock \
    && rm -rf /src

WORKDIR /
USER 10001

# A container must listen on all interfaces to be reachable; outside a container the default
# stays 127.0.0.1. Every other option is a FLOWDOCK_MOCK_* variable (see `flowdock-mock --help`).
ENV HOST=0.0.0.0 \
    PORT=8080 \
    FLOWDOCK_MOCK_LOG_FORMAT=json
EXPOSE 8080

# Built with `--format docker` (podman's default OCI format has no HEALTHCHECK).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["flowdock-mock", "health"]

# `docker stop` sends SIGTERM: the server stops within a second and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "-e", "143", "--"]
CMD ["flowdock-mock", "serve"]
