"""Who a person is, as verified at sign-in: the method (password, oidc, saml, slack, teams, email link),
the issuer that vouched for them and their subject there. Kept in the session at login, put on
the user object for each request (`user.verified_identity`), and written by `audit.Actor.user()`
into every event a person causes, decisions included."""

from django.conf import settings

SESSION_KEY = "countersign.identity"
METHODS = ("password", "oidc", "saml", "slack", "teams", "email_link")


def identity(method, issuer, subject):
    if method not in METHODS:
        raise ValueError(f"Unknown sign-in method {method!r}: one of {', '.join(METHODS)}.")
    return {"method": method, "issuer": issuer, "subject": str(subject)}


def password(user):
    """A local account: Countersign itself is the issuer, the user's id the subject."""
    return identity("password", settings.SITE_URL, user.pk)


def slack(slack_user_id, team_id=""):
    """A Slack user, as Slack's signed request names them (the Slack user is linked to a Countersign user)."""
    return identity("slack", f"https://slack.com/{team_id}".rstrip("/"), slack_user_id)


def teams(aad_object_id, tenant_id=""):
    """A Microsoft Teams user, as the Bot Connector's signed activity names them: their Entra
    object id in their tenant (the Teams user is linked to a Countersign user)."""
    return identity("teams", f"https://login.microsoftonline.com/{tenant_id or 'common'}/v2.0", aad_object_id)


def of_session(session, user):
    """The identity this session signed in with. A session without one predates identities, when
    passwords were the only way in."""
    return session.get(SESSION_KEY) or password(user)


def remember_sign_in(sender, request, user, **kwargs):
    """user_logged_in: the OIDC sign-in sets `verified_identity` on the user before `login()`; a
    password login (Django's view) has none, and is a password one."""
    if request is None or not hasattr(request, "session"):
        return
    found = getattr(user, "verified_identity", None) or password(user)
    user.verified_identity = found
    request.session[SESSION_KEY] = found
