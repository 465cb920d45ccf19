# PWSIM service image: the API (`pwsim serve`) and the Celery worker (`pwsim worker`) share it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PWSIM_DATA_DIR=/data

RUN groupadd --system --gid 10001 pwsim \
    && useradd --system --uid 10001 --gid pwsim --home-dir /app --shell /usr/sbin/nologin pwsim \
    && mkdir -p /data \
    && chown pwsim:pwsim /data

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir .

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["pwsim", "serve", "--host", "0.0.0.0", "--port", "8000"]
