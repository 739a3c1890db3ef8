# One image for web, worker and beat.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY jappanel ./jappanel
COPY catalog ./catalog
COPY orders ./orders
RUN /venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DATA_DIR=/data
RUN useradd --create-home --uid 1000 app && mkdir /data && chown app /data
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=app . .
RUN DEBUG=0 SECRET_KEY=build ALLOWED_HOSTS=build DATA_DIR=/tmp/build \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM= \
    python manage.py collectstatic --noinput
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "jappanel.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
