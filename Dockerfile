# syntax=docker/dockerfile:1.7
# CallFluently API and job worker: one image, two commands (see compose.yaml).
#   docker build -t callfluently .
#   docker run -e DATABASE_URL=... -e JWT_SECRET=... -p 8000:8000 callfluently

# ---- build: resolve and install the runtime dependencies into a virtualenv ----
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, so source edits do not reinstall them. Only [project] dependencies are
# installed (no [dev] extras); the project itself runs from /app, not from site-packages.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt
RUN pip install --upgrade pip && pip install -r requirements.txt

# ---- runtime: slim base, the virtualenv and the source, a non-root user ----
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=app:app main.py settings.py pyproject.toml ./
COPY --chown=app:app db ./db
COPY --chown=app:app domain ./domain
COPY --chown=app:app observability ./observability
COPY --chown=app:app providers ./providers
COPY --chown=app:app resolvers ./resolvers
COPY --chown=app:app sandbox ./sandbox
COPY --chown=app:app schema ./schema
COPY --chown=app:app web ./web
COPY --chown=app:app webhooks ./webhooks
RUN mkdir -p /app/var && chown app:app /app/var
USER app
EXPOSE 8000
# Liveness only (no dependencies): /readyz is for load balancers.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# The API: WEB_CONCURRENCY uvicorn workers, whose metrics /metrics merges through
# PROMETHEUS_MULTIPROC_DIR (set and emptied here, for the API only). Behind a proxy set
# FORWARDED_ALLOW_IPS to its address so that per-IP rate limits see the real clients.
# The job worker is the same image with the command `python main.py worker`.
CMD ["sh", "-c", "export PROMETHEUS_MULTIPROC_DIR=\"${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus}\" && rm -rf \"$PROMETHEUS_MULTIPROC_DIR\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && exec uvicorn main:app --host 0.0.0.0 --port \"$PORT\" --workers \"$WEB_CONCURRENCY\" --proxy-headers --ws websockets-sansio"]
