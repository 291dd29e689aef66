"""A person as an identity provider knows them: (issuer, subject), linked to the Countersign user
made for them at their first sign-in."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from audit.log import Actor, record


class ExternalIdentity(models.Model):
    class Method(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        SAML = "saml", "SAML"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    method = models.CharField(max_length=8, choices=Method, default=Method.OIDC)
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_external_identity")]
        verbose_name_plural = "external identities"

    def __str__(self):
        return f"{self.subject} at {self.issuer}"

    @classmethod
    def sign_in(cls, *, issuer, subject, claims, method=Method.OIDC):
        """The user for this verified person, made on their first sign-in (just in time), their
        profile and mapped roles brought up to date. None when their account here is disabled."""
        with transaction.atomic():
            found = cls.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
            if found is None:
                found = cls(issuer=issuer, subject=subject, method=method, user=_new_user(claims))
                created = True
            else:
                created = False
            user = found.user
            if not user.is_active:
                return None
            user.email = str(claims.get("email") or user.email)[:254]
            user.first_name = str(claims.get("given_name") or user.first_name)[:150]
            user.last_name = str(claims.get("family_name") or user.last_name)[:150]
            user.save(update_fields=["email", "first_name", "last_name"])
            found.last_sign_in_at = timezone.now()
            found.save()
            changes = sync_roles(user, claims)
            if created or changes:
                record(
                    kind="user.provisioned" if created else "user.roles_changed",
                    actor=Actor.system(f"identity provider {issuer}"),
                    data={"user": user.get_username(), "issuer": issuer, "subject": subject, "roles": changes},
                )
            return user


def _new_user(claims):
    """A user named after the person's preferred name (else email, else subject), made unique."""
    User = get_user_model()
    base = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[:140]
    for attempt in range(100):
        username = base if attempt == 0 else f"{base}-{attempt + 1}"
        try:
            with transaction.atomic():
                user = User(username=username, email=str(claims.get("email") or "")[:254])
                user.set_unusable_password()  # signs in through the provider only
                user.save()
                return user
        except IntegrityError:
            continue
    raise RuntimeError(f"No free user name for {base!r}")


def sync_roles(user, claims):
    """Give and take away the roles HITL_OIDC_ROLE_MAP manages, per the configured claim. Returns
    {"added": [...], "removed": [...]} when anything changed, else {}."""
    role_map = settings.HITL_OIDC_ROLE_MAP
    if not role_map:
        return {}
    values = claims.get(settings.HITL_OIDC_ROLES_CLAIM) or []
    if isinstance(values, str):
        values = values.split()
    wanted = {role_map[value] for value in values if value in role_map}
    managed = set(role_map.values())
    held = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
    added, removed = sorted(wanted - held), sorted(held - wanted)
    if added:
        user.groups.add(*Group.objects.filter(name__in=added))
    if removed:
        user.groups.remove(*Group.objects.filter(name__in=removed))
    return {"added": added, "removed": removed} if added or removed else {}
