"""The baseline a proposal is measured against: the least a Django endpoint can do with the
same body in the same gunicorn — parse the JSON, insert one row, answer with its id."""

import json

from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

# Created by bench.stack before gunicorn starts; never by a product migration.
BASELINE_TABLE = "bench_baseline_row"


@csrf_exempt  # Like the agent API, which authenticates with a bearer token, not a cookie.
@require_POST
def baseline(request):
    body = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BASELINE_TABLE} (body) VALUES (%s) RETURNING id", [json.dumps(body)])
        row_id = cursor.fetchone()[0]
    return JsonResponse({"id": row_id}, status=201)
