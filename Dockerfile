# flowdock-mock as a CI service container: configured by environment, healthy when /_mock/health is.
#   docker build -t flowdock-mock .
#   docker run --rm -p 8080:8080 -e FLOWDOCK_MOCK_SEED=7 flowdock-mock
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY mock_server ./mock_server
COPY spec ./spec
COPY fixtures ./fixtures
# The pinned versions CI tested; only the runtime dependencies are installed.
RUN pip install --constraint constraints.txt . \
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

HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["flowdock-mock", "health"]

# `docker stop` sends SIGTERM: the server stops within a second and exits 0.
STOPSIGNAL SIGTERM
CMD ["flowdock-mock", "serve"]
