"""OAuth access tokens as agent credentials: Countersign is an OAuth 2.1 resource server (RFC 9728)
for `/mcp/` and `/api/v1/`. A JWT access token from a configured authorization server is checked
against that issuer's published keys (JWKS), its audience against this resource (RFC 8707), its
expiry and its scope, and names its agent by a configured claim.

One entry: `agent_for_access_token(token)`, the agent or `InvalidAccessToken` with the precise
reason (its `www_authenticate()` is the 401's or 403's header). `resource_metadata()` is the
document at `/.well-known/oauth-protected-resource`. Fetching keys is remote: call this outside
any transaction (the auth points run it before the view's).
"""

import base64
import json
import logging
import threading
import time
from datetime import UTC, datetime

import httpx
from django.conf import settings
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from policies.models import Agent

log = logging.getLogger(__name__)

# Asymmetric algorithms only: with "HS256" anyone holding a published key could mint tokens.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
KEYS_MAX_AGE = 300  # seconds a fetched key set is trusted before it is fetched again
KEYS_MIN_REFETCH = 30  # an unknown key id fetches again, at most this often per issuer
TIMEOUT = 5


class InvalidAccessToken(Exception):
    """RFC 6750's error: `invalid_token` (401) or `insufficient_scope` (403), with a description
    precise enough for the agent's operator to fix the token request."""

    def __init__(self, description, *, error="invalid_token", status=401):
        super().__init__(description)
        self.description, self.error, self.status = description, error, status

    def www_authenticate(self):
        return www_authenticate(error=self.error, description=self.description)


def looks_like_jwt(token):
    return token.count(".") == 2 and token.startswith("eyJ")


def agent_for_access_token(token):
    """The agent a valid access token names; `InvalidAccessToken` saying why not."""
    issuer = _unverified_issuer(token)
    if issuer not in settings.HITL_OAUTH_ISSUERS:
        trusted = ", ".join(settings.HITL_OAUTH_ISSUERS) or "none configured"
        raise InvalidAccessToken(f'The token\'s issuer "{issuer}" is not one this server trusts ({trusted}).')
    claims = _verified_claims(token, issuer)
    now, leeway = time.time(), settings.HITL_OAUTH_LEEWAY_SECONDS
    if not isinstance(claims.get("exp"), int | float):
        raise InvalidAccessToken("The token has no expiry (exp); this server accepts only tokens that expire.")
    if claims["exp"] + leeway < now:
        raise InvalidAccessToken(f"The token expired at {_when(claims['exp'])}.")
    if isinstance(claims.get("nbf"), int | float) and claims["nbf"] - leeway > now:
        raise InvalidAccessToken(f"The token is not valid before {_when(claims['nbf'])}.")
    audiences = claims.get("aud") or []
    audiences = [audiences] if isinstance(audiences, str) else list(audiences)
    if not any(_same_resource(audience, settings.HITL_OAUTH_RESOURCE) for audience in audiences):
        raise InvalidAccessToken(
            f"The token's audience is {', '.join(map(str, audiences)) or 'missing'}, not this resource "
            f"{settings.HITL_OAUTH_RESOURCE}: request it with resource={settings.HITL_OAUTH_RESOURCE} (RFC 8707)."
        )
    scopes = claims.get("scope", "")
    scopes = scopes.split() if isinstance(scopes, str) else list(claims.get("scp") or [])
    if settings.HITL_OAUTH_SCOPE not in scopes:
        raise InvalidAccessToken(
            f"The token lacks the scope {settings.HITL_OAUTH_SCOPE}.", error="insufficient_scope", status=403
        )
    name = claims.get(settings.HITL_OAUTH_AGENT_CLAIM)
    if not isinstance(name, str) or not name:
        raise InvalidAccessToken(f"The token has no {settings.HITL_OAUTH_AGENT_CLAIM} claim to name its agent.")
    agent = Agent.objects.filter(name=name).first()
    if agent is None:
        raise InvalidAccessToken(
            f'No agent here is named "{name}" (the token\'s {settings.HITL_OAUTH_AGENT_CLAIM} claim): '
            "create it in the admin or with manage.py create_agent."
        )
    return agent


def www_authenticate(*, error=None, description=None):
    """The challenge of RFC 6750 with RFC 9728's resource_metadata and the scope an agent needs."""
    parts = [f'resource_metadata="{metadata_url()}"', f'scope="{settings.HITL_OAUTH_SCOPE}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        # A quoted-string: no quotes or backslashes, printable ASCII only (RFC 6750 §3).
        clean = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "'" for c in description)
        parts.append(f'error_description="{clean}"')
    return "Bearer " + ", ".join(parts)


def metadata_url():
    origin = settings.HITL_OAUTH_RESOURCE.split("/", 3)[:3]
    return "/".join(origin) + "/.well-known/oauth-protected-resource"


def resource_metadata():
    return {
        "resource": settings.HITL_OAUTH_RESOURCE,
        "authorization_servers": settings.HITL_OAUTH_ISSUERS,
        "scopes_supported": [settings.HITL_OAUTH_SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_signing_alg_values_supported": ALGORITHMS,
        "resource_name": "Countersign",
        "resource_documentation": settings.SITE_URL + "/api/v1/docs",
    }


def _same_resource(audience, resource):
    return isinstance(audience, str) and audience.rstrip("/") == resource.rstrip("/")


def _when(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _unverified_issuer(token):
    """The issuer the token claims, read before its signature can be checked (to know whose keys)."""
    issuer = _segment(token, 1).get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise InvalidAccessToken("The token names no issuer (iss).")
    return issuer.rstrip("/")


def _segment(token, index):
    """The JWT's header (0) or payload (1), unverified: a dict, or InvalidAccessToken."""
    try:
        segment = token.split(".")[index]
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError) as error:
        raise InvalidAccessToken("The token is not a well-formed JWT.") from error
    if not isinstance(value, dict):
        raise InvalidAccessToken("The token is not a well-formed JWT.")
    return value


def _verified_claims(token, issuer):
    try:
        decoded = jwt.decode(token, _keys.get(issuer, token), algorithms=ALGORITHMS)
    except JoseError as error:
        raise InvalidAccessToken(
            f"The token's signature does not verify against {issuer}'s keys ({error.error})."
        ) from error
    if decoded.claims.get("iss", "").rstrip("/") != issuer:
        raise InvalidAccessToken("The token's issuer changed between reading and verifying it.")
    return decoded.claims


class _KeySets:
    """Each trusted issuer's key set, fetched through its discovery document and kept a few
    minutes; a token signed with a key id not in it fetches again (keys rotate), at most every
    KEYS_MIN_REFETCH seconds, so a flood of forged key ids cannot make us flood the issuer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sets = {}  # issuer: (KeySet, fetched at)

    def clear(self):
        with self._lock:
            self._sets.clear()

    def get(self, issuer, token):
        kid = _segment(token, 0).get("kid")
        with self._lock:
            held = self._sets.get(issuer)
        age = time.time() - held[1] if held else None
        stale = held is None or age > KEYS_MAX_AGE
        unknown_kid = held is not None and kid and not any(key.kid == kid for key in held[0].keys)
        if stale or (unknown_kid and age > KEYS_MIN_REFETCH):
            held = (self._fetch(issuer), time.time())
            with self._lock:
                self._sets[issuer] = held
        return held[0]

    @staticmethod
    def _fetch(issuer):
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
                    answer = http.get(issuer + path)
                    if answer.status_code == 200:
                        break
                answer.raise_for_status()
                keys = http.get(answer.json()["jwks_uri"])
                keys.raise_for_status()
                return KeySet.import_key_set(keys.json())
        except (httpx.HTTPError, ValueError, KeyError, JoseError) as error:
            log.warning("keys of %s not fetched: %s", issuer, error)
            raise InvalidAccessToken(
                f"The keys of the token's issuer {issuer} could not be fetched; try again."
            ) from error


_keys = _KeySets()
