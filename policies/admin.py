"""The policy admin: action types with their rules, agents, standing approvals.

Every save of a policy writes a `policy.changed` event with a field-by-field diff. The change
form also answers two questions before saving: what the summary of sample parameters would
read ("Preview"), and how the last proposals would have been routed ("Dry run").
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models, transaction
from django.forms.utils import ErrorList
from django.utils import timezone

from audit.log import Actor, record
from policies.dry_run import DEFAULT_LIMIT, dry_run
from policies.earned_autonomy import offer_for
from policies.models import POLICY_FIELDS, ActionType, Agent, AgentToken, EscalationTier, Rule, StandingApproval
from policies.shadow_admin import shadow_link  # registers the shadow policies' admin too

TRYING = ("_preview", "_dryrun")
TRIAL = "trial"  # the code of the form error that holds a preview or a dry run back from saving


class ActionTypeForm(forms.ModelForm):
    reviewer_groups = forms.ModelMultipleChoiceField(
        Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Groups whose members may review actions of this type.",
    )
    checker_url = forms.URLField(
        label="external checker URL",
        required=False,
        assume_scheme="https",
        help_text=ActionType._meta.get_field("checker_url").help_text,
    )
    preview_params = forms.JSONField(
        label="sample parameters",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='Parameters to preview the summary with, such as {"amount": 750, "currency": "USD"}. Not saved.',
    )
    dry_run_limit = forms.IntegerField(
        label="dry run over the last",
        initial=DEFAULT_LIMIT,
        min_value=1,
        max_value=100_000,
        required=False,
        help_text="proposals of this type.",
    )

    class Meta:
        model = ActionType
        # The admin's fieldsets decide what is shown; the form takes every policy field.
        fields = ["key", *POLICY_FIELDS, "checker_secret"]
        widgets = {"checker_secret": forms.PasswordInput(render_value=True)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["reviewer_groups"].initial = [group.pk for group in self.instance.reviewer_groups()]

    def clean(self):
        cleaned = super().clean()
        if any(name in self.data for name in TRYING):
            # A preview or a dry run never saves: this error keeps the admin from saving, and the
            # page, which comes back with the edits kept, does not show it (render_change_form).
            raise forms.ValidationError("Not saved: a preview or a dry run.", code=TRIAL)
        return cleaned


class RuleInline(admin.TabularInline):
    model = Rule
    fields = ["order", "name", "expression", "level"]
    extra = 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "expression":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 60})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class StandingApprovalInline(admin.TabularInline):
    model = StandingApproval
    fields = ["agent", "constraints", "expires_at", "max_uses", "uses", "created_by", "revoked_at"]
    # Read-only here: a change made on its own page is audited as a standing approval change.
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "standing approvals (revoke or edit them from their own page)"

    def has_add_permission(self, request, obj=None):
        return False


class EscalationTierInline(admin.TabularInline):
    """Escalation tiers, edited on their action type."""

    model = EscalationTier
    fields = ["position", "group", "emails", "webhook_url", "slack_channel", "duration"]
    extra = 0
    ordering = ["position"]
    # A webhook URL typed without a scheme is https (Django 6's default, opted into now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(ActionType)
class ActionTypeAdmin(admin.ModelAdmin):
    # Not guardian's GuardedModelAdmin: its object-permission pages would change who reviews a
    # type without an audit event. Reviewer groups are a field of this form instead.
    form = ActionTypeForm
    change_form_template = "admin/policies/actiontype/change_form.html"
    list_display = ["key", "name", "autonomy", "irreversible", "blast_radius", "pause", "status", "version"]
    list_filter = ["autonomy", "status", "irreversible", "blast_radius", "pause"]
    search_fields = ["key", "name"]
    readonly_fields = ["version", "last_changed_by"]
    inlines = [RuleInline, EscalationTierInline, StandingApprovalInline]
    fieldsets = [
        (None, {"fields": ["key", "name", "description", "status", "version", "last_changed_by"]}),
        (
            "Autonomy and risk",
            {
                "fields": [
                    "autonomy",
                    "irreversible",
                    "allow_irreversible_unattended",
                    "blast_radius",
                    "confidence_threshold",
                    "first_use_threshold",
                    ("rate_limit", "rate_window"),
                    "required_approvers",
                    ("earned_autonomy_decisions", "earned_autonomy_window"),
                ]
            },
        ),
        ("Kill switch", {"fields": ["pause", "pause_reason"]}),
        # Rarely changed once a type is set up: collapsed (a <details>, open when it holds an error).
        (
            "Parameters",
            {
                "fields": ["params_schema", "params_schema_inferred", "editable_params", "redact_paths"],
                "classes": ["collapse"],
            },
        ),
        ("What the reviewer reads", {"fields": ["summary_template", "preview_params"]}),
        ("Review", {"fields": ["reviewer_groups", "sla", "sla_warning_share", "timeout_fallback", "slack_channel"]}),
        ("Output review", {"fields": ["output_review", "output_review_rule"], "classes": ["collapse"]}),
        ("Sampling after the fact", {"fields": ["sampling_rate", "target_error_rate"], "classes": ["collapse"]}),
        ("External checker", {"fields": ["checker_url", "checker_secret", "checker_timeout"], "classes": ["collapse"]}),
        ("Execution from the dashboard", {"fields": ["executor_url"], "classes": ["collapse"]}),
        ("Dry run", {"fields": ["dry_run_limit"], "classes": ["collapse"]}),
    ]

    class Media:
        css = {"all": ["admin-policies.css"]}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if request.method == "POST" and any(name in request.POST for name in TRYING):
            extra_context.update(self._try_unsaved(request, object_id))
        if object_id:
            action_type = self.get_object(request, object_id)
            if action_type is not None:
                extra_context["history"] = action_type.change_history()[:50]
                extra_context["autonomy_offer"] = offer_for(action_type)
                extra_context.update(shadow_link(action_type))
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """A preview or a dry run is no mistake: without the error that kept it from saving, the
        page says "Please correct the error below." only for a real one."""
        if request.method == "POST" and any(name in request.POST for name in TRYING):
            form = context["adminform"].form
            kept = [error for error in form.errors.get(NON_FIELD_ERRORS, ErrorList()).as_data() if error.code != TRIAL]
            if kept:
                form.errors[NON_FIELD_ERRORS] = ErrorList(kept, error_class="nonfield")
            else:
                form.errors.pop(NON_FIELD_ERRORS, None)
            formsets = [inline.formset for inline in context["inline_admin_formsets"]]
            context.update(errors=helpers.AdminErrorList(form, formsets), trial=True)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _try_unsaved(self, request, object_id):
        """The edited policy, built from the form and the rule inlines but never saved, previewed
        or dry-run. Nothing is shown while a field has an error: the form shows the errors."""
        saved = self.get_object(request, object_id) if object_id else None
        # The form writes the edits into its instance as it validates, so it gets a copy of its
        # own: given `saved` itself, the "saved" column of the dry run would show the edits.
        editing = self.get_object(request, object_id) if object_id else None
        form = self.get_form(request, editing, change=saved is not None)(request.POST, instance=editing)
        form.is_valid()
        # The admin's own way to bind the inlines to the posted data (a private method, stable
        # since Django 1.x): the rules are read exactly as Save would read them.
        formsets, _ = self._create_formsets(request, form.instance, change=saved is not None)
        if any(name != NON_FIELD_ERRORS for name in form.errors) or not all(f.is_valid() for f in formsets):
            return {}
        edited = form.instance
        rules = [
            rule_form.instance
            for formset in formsets
            if formset.model is Rule
            for rule_form in formset.forms
            if not rule_form.cleaned_data.get("DELETE") and (rule_form.instance.pk or rule_form.has_changed())
        ]
        if "_preview" in request.POST:
            params = form.cleaned_data.get("preview_params") or {}
            return {
                "preview": {
                    "summary": edited.render_summary(params),
                    "errors": edited.params_errors(params) if isinstance(params, dict) else [],
                }
            }
        if saved is None:
            return {"dry_run_error": "Save the action type first: a dry run replays its past proposals."}
        limit = form.cleaned_data.get("dry_run_limit") or DEFAULT_LIMIT
        return {"dry_run": dry_run(saved, edited, rules, limit=limit), "dry_run_limit": limit}

    def save_model(self, request, obj, form, change):
        request.policy_before = ActionType.objects.get(pk=obj.pk).policy_snapshot() if change else {}
        request.policy_secret_changed = "checker_secret" in form.changed_data
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        action_type = form.instance
        action_type.set_reviewer_groups(form.cleaned_data.get("reviewer_groups") or [])
        action_type.record_change(
            by=request.user,
            before=request.policy_before,
            what="action type changed" if change else "action type created",
            secret_changed=request.policy_secret_changed,
        )

    def delete_model(self, request, obj):
        record_deletion(request.user, obj)
        super().delete_model(request, obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for action_type in queryset:
            record_deletion(request.user, action_type)
        super().delete_queryset(request, queryset)


def record_deletion(user, action_type):
    record(
        kind="policy.changed",
        actor=Actor.user(user),
        action_type=action_type.key,
        data={"what": "action type deleted", "version": action_type.version, "policy": action_type.policy_snapshot()},
    )


class AgentTokenInline(admin.TabularInline):
    model = AgentToken
    fields = ["prefix", "label", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at"]
    extra = 0
    can_delete = False


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "pause", "created_at"]
    list_filter = ["pause"]
    search_fields = ["name"]
    fields = ["name", "description", "pause", "pause_reason", "callback_url"]
    inlines = [AgentTokenInline]
    actions = ["rotate_callback_secret"]

    def save_model(self, request, obj, form, change):
        before = (
            Agent.objects.filter(pk=obj.pk).values("pause", "pause_reason", "callback_url").first()
            if change
            else {"pause": "", "pause_reason": "", "callback_url": ""}
        )
        super().save_model(request, obj, form, change)
        pause_before = {"pause": before["pause"], "pause_reason": before["pause_reason"]}
        obj.record_pause_change(by=request.user, before=pause_before)
        if obj.callback_url != before["callback_url"]:
            record(
                kind="policy.changed",
                actor=Actor.user(request.user),
                agent=obj.name,
                data={
                    "what": "agent default callback URL",
                    "diff": {"callback_url": {"from": before["callback_url"], "to": obj.callback_url}},
                },
            )

    @admin.action(description="Rotate the callback signing secret (shown once)", permissions=["change"])
    def rotate_callback_secret(self, request, queryset):
        for agent in queryset:
            secret = agent.rotate_callback_secret(by=request.user)
            self.message_user(
                request,
                f"{agent.name}'s new callback signing secret (shown once; the old one no longer verifies): {secret}",
                messages.WARNING,
            )


@admin.register(StandingApproval)
class StandingApprovalAdmin(admin.ModelAdmin):
    list_display = ["__str__", "action_type", "agent", "describe", "expires_at", "uses", "max_uses", "revoked_at"]
    list_filter = ["action_type", "agent"]
    fields = [
        "action_type",
        "agent",
        "constraints",
        "expires_at",
        "max_uses",
        "uses",
        "created_by",
        "created_from_action",
        "created_at",
        "revoked_at",
    ]
    readonly_fields = ["uses", "created_by", "created_from_action", "created_at"]
    actions = ["revoke"]

    @admin.display(description="scope")
    def describe(self, obj):
        return obj.describe()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        record(
            kind="policy.changed",
            actor=Actor.user(request.user),
            action_type=obj.action_type.key,
            agent=obj.agent.name,
            data={
                "what": "standing approval changed" if change else "standing approval created",
                "standing_approval": obj.pk,
                "diff": {
                    name: {"to": json.loads(json.dumps(form.cleaned_data[name], default=str))}
                    for name in form.changed_data
                },
            },
        )

    @admin.action(description="Revoke the selected standing approvals now")
    def revoke(self, request, queryset):
        with transaction.atomic():
            revoked = 0
            for standing in queryset.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()):
                standing.revoke(by=request.user)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} standing approvals.", messages.SUCCESS)
