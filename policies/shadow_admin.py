"""The shadow policies' admin: write a candidate, read its report (/insights/shadow/<id>/), and
promote or discard it with one audited click. A candidate is not edited once it runs, so that
every route in its report is the same candidate's: discard it and start another instead."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from policies.models import CANDIDATE_FIELDS, ActionType, Autonomy, ShadowPolicy

EDITABLE = ["action_type", "note", *CANDIDATE_FIELDS, "rules"]


class ShadowPolicyForm(forms.ModelForm):
    class Meta:
        model = ShadowPolicy
        fields = EDITABLE
        widgets = {"rules": forms.Textarea(attrs={"rows": 6, "cols": 80})}


@admin.register(ShadowPolicy)
class ShadowPolicyAdmin(admin.ModelAdmin):
    form = ShadowPolicyForm
    change_form_template = "admin/policies/shadowpolicy/change_form.html"
    list_display = ["__str__", "action_type", "status", "origin", "autonomy", "created_at", "ended_at"]
    list_filter = ["status", "action_type"]

    def get_fields(self, request, obj=None):
        return (
            EDITABLE
            if obj is None
            else [*EDITABLE, "status", "origin", "based_on_version", "created_by", "created_at", "ended_by", "ended_at"]
        )

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # its routes stay on the actions it shadowed; discard it instead

    def get_changeform_initial_data(self, request):
        """A new candidate starts as a copy of the live policy of the type named in the URL."""
        initial = super().get_changeform_initial_data(request)
        action_type = ActionType.objects.filter(pk=request.GET.get("action_type") or None).first()
        if action_type is not None:
            live = ShadowPolicy.from_live(action_type)
            initial |= {name: getattr(live, name) for name in CANDIDATE_FIELDS} | {"rules": live.rules}
        return initial

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        obj.based_on_version = obj.action_type.version
        super().save_model(request, obj, form, change)
        obj.record_started(by=request.user)

    def response_add(self, request, obj, post_url_continue=None):
        return redirect("shadow_report", obj.pk)

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/promote/", self.admin_site.admin_view(self.promote_view), name="policies_shadowpolicy_promote"
            ),
            path(
                "<int:pk>/discard/", self.admin_site.admin_view(self.discard_view), name="policies_shadowpolicy_discard"
            ),
            path(
                "from-offer/<int:type_pk>/",
                self.admin_site.admin_view(self.from_offer_view),
                name="policies_shadowpolicy_from_offer",
            ),
        ]
        return urls + super().get_urls()

    def _check_may_change_policy(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("policies.change_actiontype"):
            raise PermissionDenied("Only a policy admin changes a type's live policy.")
        return None

    def promote_view(self, request, pk):
        return self._end_view(request, pk, "promote", "is now {key}'s live policy")

    def discard_view(self, request, pk):
        return self._end_view(request, pk, "discard", "of {key} is discarded")

    def _end_view(self, request, pk, how, done):
        """Promote or discard (`how`): one POST, one audited change, or a message saying why not."""
        if refused := self._check_may_change_policy(request):
            return refused
        shadow = get_object_or_404(ShadowPolicy.objects.select_related("action_type"), pk=pk)
        try:
            getattr(shadow, how)(by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("shadow_report", shadow.pk)
        messages.success(request, f"Shadow policy #{shadow.pk} " + done.format(key=shadow.action_type.key) + ".")
        return redirect("admin:policies_actiontype_change", shadow.action_type_id)

    def from_offer_view(self, request, type_pk):
        """An earned-autonomy offer tried as a shadow first: act-with-audit beside the live policy."""
        if refused := self._check_may_change_policy(request):
            return refused
        action_type = get_object_or_404(ActionType, pk=type_pk)
        try:
            with transaction.atomic():
                shadow = ShadowPolicy.start(
                    action_type=action_type, by=request.user, origin=ShadowPolicy.Origin.OFFER, autonomy=Autonomy.AUDIT
                )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("admin:policies_actiontype_change", action_type.pk)
        messages.success(request, f"Act-with-audit now shadows {action_type.key}'s live policy: nothing changes yet.")
        return redirect("shadow_report", shadow.pk)


def shadow_link(action_type):
    """The active candidate of `action_type` and where to read its report, for the type's page."""
    shadow = ShadowPolicy.objects.active().filter(action_type=action_type).first()
    return {
        "shadow_policy": shadow,
        "shadow_report_url": reverse("shadow_report", args=[shadow.pk]) if shadow else "",
        "shadow_add_url": reverse("admin:policies_shadowpolicy_add") + f"?action_type={action_type.pk}",
    }
