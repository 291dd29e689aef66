"""Signing people in through the organisation's OpenID provider, with Authlib's Django client:
discovery from the issuer, the authorization code flow with PKCE (S256), state and nonce, and
the ID token's signature and claims checked against the provider's keys. Countersign adds what is
its own: the user made just in time, roles from a claim, and the check of a session against the
provider that bounds how long a removed person can still decide (`still_vouched_for`)."""

import time
from functools import cache

import httpx
from authlib.integrations.django_client import OAuth
from django.conf import settings

from identity import verified
from identity.models import ExternalIdentity

SESSION_TOKENS = "countersign.oidc"
TIMEOUT = 10


class ProviderUnavailable(Exception):
    """The provider could not be asked: a decision waits rather than trusting a stale session."""


def enabled():
    return bool(settings.HITL_OIDC_ISSUER and settings.HITL_OIDC_CLIENT_ID)


def client():
    return _client(settings.HITL_OIDC_ISSUER, settings.HITL_OIDC_CLIENT_ID, settings.HITL_OIDC_CLIENT_SECRET)


@cache
def _client(issuer, client_id, client_secret):
    """One Authlib client per configuration; it fetches the discovery document once."""
    registry = OAuth()
    return registry.register(
        "oidc",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": settings.HITL_OIDC_SCOPES, "code_challenge_method": "S256", "timeout": TIMEOUT},
    )


def start(request, redirect_uri):
    """The redirect to the provider's sign-in page; state, nonce and the PKCE verifier stay in the session."""
    return client().authorize_redirect(request, redirect_uri)


def finish(request):
    """The person the provider's answer names, signed in just in time: (user, identity). Raises
    Authlib's OAuthError for any answer that does not verify; user is None for a disabled account."""
    oidc = client()
    token = oidc.authorize_access_token(request)
    claims = dict(token["userinfo"])  # the verified ID token's claims
    issuer = oidc.load_server_metadata()["issuer"].rstrip("/")
    if settings.HITL_OIDC_ROLES_CLAIM not in claims:
        # Many providers put groups in userinfo only.
        claims = {**dict(oidc.userinfo(token=token)), **claims}
    user = ExternalIdentity.sign_in(issuer=issuer, subject=claims["sub"], claims=claims)
    request.session[SESSION_TOKENS] = {
        "access_token": token.get("access_token", ""),
        "refresh_token": token.get("refresh_token", ""),
        "expires_at": token.get("expires_at") or time.time() + int(token.get("expires_in") or 0),
        "checked_at": time.time(),
        "subject": claims["sub"],
    }
    return user, verified.identity("oidc", issuer, claims["sub"])


def still_vouched_for(session):
    """True while the provider still answers for this session's person: its userinfo endpoint,
    with the session's access token (refreshed first once expired). False when the provider says
    no (the account is removed or disabled, the grant revoked). ProviderUnavailable when it cannot
    be asked. Updates the session's tokens and the time of the check."""
    tokens = session.get(SESSION_TOKENS)
    if not tokens:
        return False
    try:
        metadata = client().load_server_metadata()
    except Exception as error:  # noqa: BLE001 - requests' and Authlib's errors alike: the provider is out of reach
        raise ProviderUnavailable(str(error)) from error
    try:
        with httpx.Client(timeout=TIMEOUT) as http:
            if tokens["expires_at"] <= time.time() + 5:
                if not tokens.get("refresh_token"):
                    return False  # nothing left to ask with: the person signs in again
                answer = http.post(
                    metadata["token_endpoint"],
                    data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                    auth=(settings.HITL_OIDC_CLIENT_ID, settings.HITL_OIDC_CLIENT_SECRET),
                )
                if answer.status_code in (400, 401):
                    return False  # invalid_grant: the provider no longer vouches
                answer.raise_for_status()
                fresh = answer.json()
                tokens["access_token"] = fresh["access_token"]
                tokens["refresh_token"] = fresh.get("refresh_token") or tokens["refresh_token"]
                tokens["expires_at"] = time.time() + int(fresh.get("expires_in") or 0)
            answer = http.get(
                metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
    except httpx.HTTPError as error:
        raise ProviderUnavailable(str(error)) from error
    if answer.status_code in (401, 403):
        return False
    if answer.status_code != 200:
        raise ProviderUnavailable(f"userinfo answered {answer.status_code}")
    if answer.json().get("sub") != tokens["subject"]:
        return False
    tokens["checked_at"] = time.time()
    session[SESSION_TOKENS] = tokens
    return True


def due_for_check(session):
    tokens = session.get(SESSION_TOKENS) or {}
    return time.time() - tokens.get("checked_at", 0) >= settings.HITL_OIDC_RECHECK_SECONDS
