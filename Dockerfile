# Lifeline ARC service image: slim, non-root, with a health check.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY arc arc
COPY billing billing
COPY devices devices
COPY migrations migrations
COPY simulators simulators
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LIFELINE_ENV=production LIFELINE_HOST=0.0.0.0 LIFELINE_PORT=8080
RUN useradd --system --uid 10001 --home-dir /app lifeline
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER lifeline
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,ssl,sys,urllib.request; tls=bool(os.environ.get('LIFELINE_TLS_CERTFILE')); url=('https' if tls else 'http')+'://127.0.0.1:8080/healthz'; sys.exit(0 if urllib.request.urlopen(url, timeout=2, context=ssl._create_unverified_context() if tls else None).status == 200 else 1)"
# migrations run once per deploy: `docker compose run --rm app lifeline migrate`
CMD ["lifeline", "serve"]
