# One image for the gateway, its migrations and the simulator: `kefu-gateway <command>`.
#   docker build -t kefu-gateway .
#   docker run --rm -e GATEWAY_SECRET_KEY=... -e GATEWAY_DATABASE_URL=postgresql://... kefu-gateway db upgrade
#   docker run --rm -p 127.0.0.1:8000:8000 -e ... kefu-gateway            # serve (the default command)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini requirements.lock ./
COPY gateway ./gateway
COPY kefu_sim ./kefu_sim
COPY migrations ./migrations
# the versions CI tested: requirements.lock pins every dependency (scripts/lock regenerates it)
RUN pip install --no-cache-dir --prefix=/install -c requirements.lock .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    GATEWAY_MEDIA_DIR=/data/media
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --home-dir /data --create-home kefu \
    && mkdir -p /data/media && chown -R kefu /data
USER kefu
WORKDIR /data
EXPOSE 8000
# Health is checked per service in docker-compose.yml: the simulator and `db upgrade` use this image too.
ENTRYPOINT ["kefu-gateway"]
CMD ["serve", "--host", "0.0.0.0"]
