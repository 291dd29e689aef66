# One image for web, worker and beat; docker-compose.yml chooses the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY hitl_client ./hitl_client
COPY hitl_lib ./hitl_lib
COPY hitl_site ./hitl_site
COPY approvals ./approvals
COPY audit ./audit
COPY policies ./policies
COPY sampling ./sampling
COPY insights ./insights
COPY gateway ./gateway
COPY identity ./identity
COPY push ./push
COPY teams ./teams
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir ./hitl_client . \
 && DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput
RUN useradd --system --uid 10001 countersign
# The audit witness volume's mount point, so that a new named volume belongs to the app's user.
RUN mkdir -p /var/lib/countersign/audit-witness && chown countersign /var/lib/countersign/audit-witness
USER countersign
EXPOSE 8000
# ASGI under gunicorn with the uvicorn worker (hitl_site/gunicorn_conf.py): a process per core unless
# HITL_WEB_WORKERS says otherwise, refused at start when they could exceed max_connections; compose raises `ulimit -n`.
CMD ["gunicorn", "--config", "hitl_site/gunicorn_conf.py", "--bind", "0.0.0.0:8000"]
