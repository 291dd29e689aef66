"""The gateway in the admin: upstream MCP servers (every change a `policy.changed` event) and the
tools they list, with each tool's hints and whether its schema changed upstream since it was
accepted. A tool's policy is its action type's, edited there like any other."""

import json

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from audit.log import Actor, record
from gateway.models import Upstream, UpstreamTool
from policies.models import ActionType


def action_type_link(tool):
    action_type = ActionType.objects.filter(key=tool.action_key).only("pk").first()
    if action_type is None:
        return "—"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:policies_actiontype_change", args=[action_type.pk]), tool.action_key
    )


def hints(tool):
    """MCP's annotations in words. A hint is the server's claim, never a permission."""
    words = []
    if tool.read_only_hint:
        words.append("says read-only (a hint, not a permission: it lowers no risk)")
    if tool.annotations.get("destructiveHint") is True:
        words.append("destructive")
    if tool.annotations.get("idempotentHint") is True:
        words.append("idempotent")
    if tool.annotations.get("openWorldHint") is False:
        words.append("closed world")
    return ", ".join(words) or "no hints (MCP then assumes destructive and open-world)"


def schema_status(tool):
    if tool.withheld_reason:
        return f"withheld: {tool.withheld_reason}"
    if tool.needs_review:
        return mark_safe("<strong>changed upstream: review it</strong> (calls wait for a person until accepted)")
    return "as accepted"


class ToolColumns:
    """What the tool list and the server's inline both show of a tool."""

    @admin.display(description="clients call it")
    def namespaced(self, tool):
        return tool.namespaced_name

    @admin.display(description="action type")
    def policy(self, tool):
        return action_type_link(tool)

    @admin.display(description="hints")
    def hint_words(self, tool):
        return hints(tool)

    @admin.display(description="schema")
    def schema(self, tool):
        return schema_status(tool)


class UpstreamToolInline(ToolColumns, admin.TabularInline):
    model = UpstreamTool
    extra = 0
    can_delete = False
    fields = ["namespaced", "policy", "hint_words", "schema"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj):
        return False


class UpstreamForm(forms.ModelForm):
    url = forms.URLField(
        label="URL", required=False, assume_scheme="https", max_length=2000,
        help_text=Upstream._meta.get_field("url").help_text,
    )  # fmt: skip

    class Meta:
        model = Upstream
        fields = ["name", "description", "transport", "enabled", "timeout", "command", "args", "env", "cwd", "url",
                  "headers"]  # fmt: skip


@admin.register(Upstream)
class UpstreamAdmin(admin.ModelAdmin):
    form = UpstreamForm
    list_display = ["name", "transport", "where", "enabled", "tool_count", "review_count", "listed_at"]
    list_filter = ["transport", "enabled"]
    search_fields = ["name", "description", "command", "url"]
    inlines = [UpstreamToolInline]
    # When it last listed its tools: while it cannot, clients are offered that listing.
    readonly_fields = ["listed_at"]
    fieldsets = [
        (None, {"fields": ["name", "description", "transport", "enabled", "timeout", "listed_at"]}),
        ("stdio", {"fields": ["command", "args", "env", "cwd"]}),
        ("Streamable HTTP", {"fields": ["url", "headers"]}),
    ]

    @admin.display(description="command or URL")
    def where(self, upstream):
        return " ".join([upstream.command, *upstream.args]) if upstream.transport == "stdio" else upstream.url

    @admin.display(description="tools")
    def tool_count(self, upstream):
        return upstream.tools.count()

    @admin.display(description="to review")
    def review_count(self, upstream):
        return upstream.tools.filter(schema_changed_at__isnull=False).count()

    def save_model(self, request, obj, form, change):
        before = Upstream.objects.get(pk=obj.pk).as_policy() if change else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            obj.record_change(
                by=request.user, before=before, what="MCP server changed" if change else "MCP server added"
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            record(
                kind="policy.changed",
                actor=Actor.user(request.user),
                data={"what": "MCP server deleted", "mcp_server": obj.name, "policy": obj.as_policy()},
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for upstream in queryset:
            self.delete_model(request, upstream)


@admin.register(UpstreamTool)
class UpstreamToolAdmin(ToolColumns, admin.ModelAdmin):
    list_display = ["namespaced", "upstream", "title", "hint_words", "schema"]
    list_filter = ["upstream", ("schema_changed_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "title", "description"]
    actions = ["accept_schema"]
    fields = [
        "upstream", "name", "policy", "title", "description", "hint_words", "schema", "schema_diff",
        "output_schema_shown", "first_listed_at",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # tools come from their server's listing

    @admin.display(description="input schema")
    def schema_diff(self, tool):
        accepted = json.dumps(tool.accepted_schema, indent=2, sort_keys=True)
        if not tool.needs_review:
            return format_html("<pre>{}</pre>", accepted)
        listed = json.dumps(tool.input_schema, indent=2, sort_keys=True)
        return format_html(
            "<p>Accepted:</p><pre>{}</pre><p>Listed by the server now:</p><pre>{}</pre>", accepted, listed
        )

    @admin.display(description="output schema")
    def output_schema_shown(self, tool):
        return format_html("<pre>{}</pre>", json.dumps(tool.output_schema, indent=2, sort_keys=True))

    @admin.action(description="Accept the server's new input schema", permissions=["change"])
    def accept_schema(self, request, queryset):
        accepted = [tool for tool in queryset.select_related("upstream") if tool.accept_schema(by=request.user)]
        if accepted:
            self.message_user(
                request, f"Accepted the new schema of {len(accepted)} tools; their review hold is lifted."
            )
        else:
            self.message_user(request, "None of these tools had a schema to review.", messages.WARNING)
