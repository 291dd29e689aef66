"""Is this activity from the Bot Connector? Its request carries a JWT that the Bot Framework signed,
checked as Microsoft's "Authentication with the Bot Connector API" requires: a key listed in the
JWKS that the OpenID metadata (TEAMS_OPENID_METADATA_URL) names, that key endorsed for the
activity's channel, the metadata's issuer, this bot's app id as the audience, within its validity
(five minutes of clock skew), and a `serviceUrl` claim equal to the activity's.

The Microsoft 365 Agents SDK's own validator (`JwtTokenValidator`) reads its keys from addresses
written into the SDK, not from a metadata document one can configure, and checks neither the
endorsements nor the service URL; so the checks are made here with PyJWT, the library that validator
uses, over the configured metadata. Nothing here does cryptography of its own."""

import logging
import math
import threading
import time

import httpx
import jwt
from django.conf import settings

logger = logging.getLogger(__name__)

# Keys change rarely (the Bot Framework SDKs keep them for days); an unknown key id fetches them
# again at once, but no more often than this, so that forged tokens cannot make us hammer Microsoft.
KEYS_MAX_AGE_SECONDS = 24 * 3600
REFETCH_AT_MOST_EVERY_SECONDS = 60
CLOCK_SKEW_SECONDS = 300


class Unauthenticated(Exception):
    """The request is not the Bot Connector's; the message says why (for the log, not the caller)."""


class _Keys:
    """The metadata's issuer and the JWKS's keys by id, per metadata URL, refreshed when old."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_url = {}  # metadata URL -> (fetched at, tried at, issuer, {kid: jwk dict})
        self.clock = time.monotonic

    def get(self, url, kid):
        """(issuer, the JWK whose id is `kid` or None). While Microsoft cannot be read, the keys
        read last go on serving, and it is asked again once a minute at most, whatever arrives."""
        with self._lock:
            found = self._by_url.get(url)
            now = self.clock()
            if found is None or (
                now - found[1] > REFETCH_AT_MOST_EVERY_SECONDS
                and (now - found[0] > KEYS_MAX_AGE_SECONDS or kid not in found[3])
            ):
                try:
                    found = self._by_url[url] = (now, now, *_fetch(url))
                except Unauthenticated:
                    if found is None:
                        self._by_url[url] = (-math.inf, now, "", {})  # nothing to serve: tried again in a minute
                        raise
                    logger.warning("The Bot Framework's OpenID metadata could not be read: the keys read before serve")
                    found = self._by_url[url] = (found[0], now, *found[2:])
            return found[2], found[3].get(kid)

    def clear(self):
        with self._lock:
            self._by_url.clear()


def _fetch(url):
    timeout = settings.HITL_WEBHOOK_TIMEOUT_SECONDS
    try:
        metadata = httpx.get(url, timeout=timeout).raise_for_status().json()
        keys = httpx.get(metadata["jwks_uri"], timeout=timeout).raise_for_status().json()["keys"]
        return metadata["issuer"], {key["kid"]: key for key in keys if "kid" in key}
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise Unauthenticated(f"The OpenID metadata or its keys could not be read: {error}") from error


KEYS = _Keys()


def authenticate(authorization, activity):
    """The token's verified claims; raises Unauthenticated. `authorization`: the request's
    Authorization header; `activity`: its parsed JSON body."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("No bearer token.")
    if not settings.TEAMS_APP_ID:
        raise Unauthenticated("No Teams app is configured (TEAMS_APP_ID).")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"Not a JWT: {error}") from error
    issuer, key = KEYS.get(settings.TEAMS_OPENID_METADATA_URL, header.get("kid"))
    if key is None:
        raise Unauthenticated("Signed with a key the OpenID metadata does not list.")
    channel = activity.get("channelId")
    if channel not in (key.get("endorsements") or []):
        raise Unauthenticated(f"The signing key is not endorsed for the channel {channel!r}.")
    try:
        claims = jwt.decode(
            token,
            jwt.PyJWK(key, algorithm="RS256"),
            algorithms=["RS256"],
            audience=settings.TEAMS_APP_ID,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"The token was refused: {error}") from error
    if not claims.get("serviceUrl") or claims["serviceUrl"] != activity.get("serviceUrl"):
        raise Unauthenticated("The token's serviceUrl is not the activity's.")
    return claims
