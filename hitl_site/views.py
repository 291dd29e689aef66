"""Liveness and readiness for load balancers and orchestrators."""

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from hitl_lib import readiness


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    if readiness.draining():
        # Asked to stop (SIGTERM): still answering what reaches it for a moment, but a load
        # balancer should send new requests to another process (README, "Restarting without dropping anyone").
        message = "This process is shutting down; send requests to another."
        return JsonResponse({"status": "draining", "message": message}, status=503)
    checks = {"postgresql": _postgresql_answers(), "redis": _redis_answers()}
    down = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {k: "ok" if v else "down" for k, v in checks.items()},
    }
    if down:
        body["message"] = f"Not answering: {', '.join(down)}."
    return JsonResponse(body, status=503 if down else 200)


def _postgresql_answers():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _redis_answers():
    url = settings.REDIS_URL.replace("redis+socket://", "unix://")
    try:
        return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
