"""Talking to the Bot Connector: the bot's access token (OAuth client credentials at Entra), and
the REST calls through the Microsoft 365 Agents SDK's `ConnectorClient` (post a card, update it in
place, read a member). The SDK is asynchronous (aiohttp); each call here runs it to
completion, since its callers (a Celery task, a view's thread) are synchronous."""

import asyncio
import threading
import time

from django.conf import settings

from approvals.delivery import PermanentFailure, one_line

SCOPE = "https://api.botframework.com/.default"
# A token is used until this long before it expires, so that none expires on its way.
TOKEN_MARGIN_SECONDS = 300

_token_lock = threading.Lock()
_token = {}  # (token URL, app id) -> (access token, expires at, monotonic)


def token_url():
    return settings.TEAMS_TOKEN_URL or (
        f"https://login.microsoftonline.com/{settings.TEAMS_TENANT_ID or 'botframework.com'}/oauth2/v2.0/token"
    )


def access_token():
    """The bot's token for the Bot Connector, fetched with its app id and secret and kept until
    shortly before it expires. Raises OSError (worth retrying) when Entra cannot be reached or
    answers 5xx, PermanentFailure when it refuses the credentials."""
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client
    from httpx import HTTPError, HTTPStatusError

    key = (token_url(), settings.TEAMS_APP_ID)
    with _token_lock:
        found = _token.get(key)
        if found and found[1] > time.monotonic():
            return found[0]
        client = OAuth2Client(
            settings.TEAMS_APP_ID,
            settings.TEAMS_APP_PASSWORD,
            scope=SCOPE,
            token_endpoint_auth_method="client_secret_post",
            timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS,
        )
        try:
            with client:
                answer = client.fetch_token(token_url(), grant_type="client_credentials")
        except OAuthError as error:
            raise PermanentFailure(f"Entra refused the bot's credentials: {error}") from error
        except HTTPStatusError as error:
            if error.response.status_code >= 500 or error.response.status_code == 429:
                raise OSError(f"Entra answered {error.response.status_code}") from error
            raise PermanentFailure(f"Entra refused the bot's credentials: {error}") from error
        except HTTPError as error:
            raise OSError(f"Entra could not be reached: {error}") from error
        lifetime = float(answer.get("expires_in") or 0) - TOKEN_MARGIN_SECONDS
        _token[key] = (answer["access_token"], time.monotonic() + max(lifetime, 0))
        return answer["access_token"]


def forget_token():
    with _token_lock:
        _token.clear()


def _call(service_url, operation):
    """Run `operation(conversations)` with a ConnectorClient for `service_url`; the Bot
    Connector's 429 and 5xx and network failures become OSError (worth retrying), another 4xx
    PermanentFailure."""
    import aiohttp
    from microsoft_agents.hosting.core.connector.client import ConnectorClient

    token = access_token()

    async def run():
        client = ConnectorClient(service_url, token)
        try:
            return await operation(client.conversations)
        finally:
            await client.close()

    try:
        return asyncio.run(run())
    except aiohttp.ClientResponseError as error:
        if error.status == 429 or error.status >= 500:
            raise OSError(f"The Bot Connector answered {error.status}") from error
        raise PermanentFailure(
            f"The Bot Connector refused it: {error.status} {one_line(str(error.message), 300)}"
        ) from error
    except aiohttp.ClientError as error:
        raise OSError(f"The Bot Connector could not be reached: {error}") from error


def card_activity(card):
    from microsoft_agents.activity import Activity, Attachment

    return Activity(
        type="message",
        attachments=[Attachment(content_type="application/vnd.microsoft.card.adaptive", content=card)],
    )


def post_card(service_url, conversation_id, card):
    """Post the card to the conversation; the new activity's id."""
    answer = _call(service_url, lambda c: c.send_to_conversation(conversation_id, card_activity(card)))
    if not answer.id:
        raise PermanentFailure("The Bot Connector gave the posted card no id.")
    return answer.id


def update_card(service_url, conversation_id, activity_id, card):
    """Replace the card of a posted activity (in place: a PUT to the activity)."""
    activity = card_activity(card)
    activity.id = activity_id
    _call(service_url, lambda c: c.update_activity(conversation_id, activity_id, activity))


def member(service_url, conversation_id, member_id):
    """What the Bot Connector says of a conversation's member (`email`, `aadObjectId`, `tenantId`…),
    as a dict; {} when it does not know them."""
    try:
        found = _call(service_url, lambda c: c.get_conversation_member(conversation_id, member_id))
    except (PermanentFailure, OSError):
        return {}
    return found.model_dump(by_alias=True, exclude_none=True) if found else {}
