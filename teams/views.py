"""The bot's messaging endpoint: every activity Teams sends Countersign's bot arrives here."""

import json
import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from teams import auth, bot

log = logging.getLogger(__name__)


@csrf_exempt  # the Bot Connector signs its requests instead (teams.auth)
@require_POST
def messages(request):
    # Nothing is read from a request the Bot Connector did not sign: a body that is not an activity
    # at all fails the token's checks (no channel, no service URL to match) and is refused with them.
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    try:
        auth.authenticate(request.headers.get("Authorization"), body)
    except auth.Unauthenticated as refused:
        log.warning("Teams activity refused: %s", refused)
        return HttpResponse("Not signed by the Bot Connector for this bot.", status=401, content_type="text/plain")
    from microsoft_agents.activity import Activity

    try:
        activity = Activity.model_validate(body)
    except ValidationError as invalid:
        return HttpResponse(f"Not an activity: {invalid.error_count()} errors.", status=400, content_type="text/plain")
    status, answer = bot.handle(activity)
    return JsonResponse(answer, status=status) if answer is not None else HttpResponse(status=status)
