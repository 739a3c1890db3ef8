# One image for web, worker and beat; docker-compose.yml picks the command of each.

# Build: the dependencies into a virtualenv (the code itself runs from /app, never installed).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY jappanel ./jappanel
COPY catalog ./catalog
COPY orders ./orders
RUN /venv/bin/pip install . && /venv/bin/pip uninstall --yes jappanel

# Runtime: no compilers, no pip cache, a non-root user that cannot change the code.
FROM python:3.11-slim-bookworm
ENV PATH=/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data
RUN useradd --create-home --uid 1000 app && mkdir /data && chown app:app /data
COPY --from=build /venv /venv
WORKDIR /app
COPY . .
# Hashed, compressed static files, built once here; the values are placeholders for the build only.
RUN DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=build DATA_DIR=/tmp/build \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM= \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-m", "jappanel.healthcheck"]
CMD ["gunicorn", "jappanel.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "120"]
