# Two images, non-root, each from a virtualenv in /opt/venv:
#
#   gateway   (the default target) the orchestrator alone, `orchestrator serve`: what production and
#             deploy/ run. No reference services' stack: no pandas, numpy, starlette, uvicorn.
#   platform  the same plus the `services` extra, so also any reference service by command
#             (`python -m services NAME`, as docker-compose.yml runs them).
#
#   docker build -t backtest-orchestrator:local .                     # the gateway
#   docker build --target platform -t backtest-platform:local .       # the platform
#
# Two build arguments, for machines that reach no image registry or no package index
# (.ci/container uses both; docs/operations.md, "Container"):
#   BASE_IMAGE  the Python 3.11 image every stage starts from; a Debian with python3 and
#               python3-venv will do (the virtualenv leaves its system Python alone)
#   WHEELS      a directory of the build context holding a wheel of every dependency (the services'
#               extra's too), and of setuptools to build this project: pip then reads
#               nothing else. Empty by default: pip downloads them from the package index.
# One more, optional: GIT_COMMIT, the commit the image is built from (`--build-arg GIT_COMMIT=$(git
# rev-parse HEAD)`), which `orchestrator --version`, GET /health and the orchestrator_build_info
# metric report (orchestrator/build_info.py); without it they say only the version.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG WHEELS=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY setup.cfg pyproject.toml README.md LICENSE ./
COPY orchestrator ./orchestrator
COPY streams ./streams
COPY services ./services
# A COPY needs a source: with WHEELS empty this copies pyproject.toml alone, which pip ignores.
COPY ${WHEELS} pyproject.toml /wheels/
RUN /opt/venv/bin/pip install ${WHEELS:+--no-index --find-links /wheels} .

# The gateway's virtualenv, and the services' stack added to a copy of it.
FROM build AS build-platform
ARG WHEELS=
RUN /opt/venv/bin/pip install ${WHEELS:+--no-index --find-links /wheels} ".[services]"

# What both images share: the user, the environment, the command and its health check.
FROM ${BASE_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8011
ENV PATH=/opt/venv/bin:$PATH
# `orchestrator serve` runs this many worker processes under gunicorn (docs/operations.md)
ENV WORKERS=2
RUN useradd --create-home --uid 10001 app
USER app
EXPOSE 8011
# Last of the shared steps: a new commit rebuilds nothing above it.
ARG GIT_COMMIT=
ENV GIT_COMMIT=${GIT_COMMIT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8011\")}/health', timeout=2)"
CMD ["orchestrator", "serve"]

FROM runtime AS platform
COPY --from=build-platform /opt/venv /opt/venv

# Last, so the default target: `docker build .` makes the gateway.
FROM runtime AS gateway
COPY --from=build /opt/venv /opt/venv
