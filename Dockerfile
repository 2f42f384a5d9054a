# Flux application image: one image for the web (uvicorn), migrate, worker and beat services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first so the layer is cached until requirements.txt changes. Only the runtime ones: the
# embedded PostgreSQL/Redis and honcho of `make run` (requirements-local.txt) have no place here.
# psycopg[binary] ships its own libpq, so no system packages are needed. SECRET_KEY has no default: the
# settings refuse to start without one (docker-compose.yml says how to set it).
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# Unprivileged runtime user. The code stays root-owned (read-only for the app);
# only /app/var is writable for anything that needs local scratch space.
RUN groupadd --system --gid 1000 flux \
    && useradd --system --uid 1000 --gid flux --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin flux

COPY . .
# Compressed, fingerprinted static files (flux/web/staticfiles.py): WhiteNoise serves them with a year-long cache
# life. The settings need a SECRET_KEY to load; this one is used for nothing else.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown flux:flux /app/var

USER flux

EXPOSE 8000

CMD ["uvicorn", "flux.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
