# Newsroom web image: gunicorn serving Django, static files collected at build time.
# Build: docker build -t newsroom .   Run: see compose.yaml and docs/DEPLOY.md.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -m venv /venv \
    && /venv/bin/pip install --upgrade pip \
    && mkdir -p newsroom accounts articles newsletters \
    && touch newsroom/__init__.py accounts/__init__.py articles/__init__.py newsletters/__init__.py \
    && /venv/bin/pip install . \
    && /venv/bin/pip uninstall --yes newsroom
COPY . .
RUN DJANGO_SECRET_KEY=build-only DJANGO_STATIC_ROOT=/app/staticfiles \
    /venv/bin/python manage.py collectstatic --noinput --verbosity 0

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_STATIC_ROOT=/app/staticfiles DJANGO_MEDIA_ROOT=/app/media \
    GUNICORN_WORKER_TMP_DIR=/dev/shm
RUN useradd --system --create-home --uid 10001 newsroom \
    && mkdir -p /app/media && chown newsroom:newsroom /app/media
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build --chown=newsroom:newsroom /app /app
USER newsroom
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["gunicorn", "newsroom.wsgi", "--config", "gunicorn.conf.py"]
