"""Upstream MCP servers and the tools they list: each tool is an action type of its own.

Naming, so that every name fits MCP's tool-name rule (2025-11-25 spec: 1–128 characters of
A–Z, a–z, 0–9, `_`, `-`, `.`) and the action-type key format (`email.send`):

- an upstream's name is 1–32 lowercase letters, digits and inner hyphens (`git`, `github-prod`);
- its tool `git_status` is listed to MCP clients as `git__git_status` (the name, two underscores,
  the tool's own name): an upstream name has no underscore, so the first `__` always ends it;
- the tool's action type is `mcp.git.git_status`.

A tool whose namespaced name would break the rule (more than 128 characters, or characters
outside the set), or whose action type key would fall outside the key format (`a..b`, or past
128 characters with its prefix), is withheld from clients, and the admin shows why.
"""

import json
import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from policies.models import ActionType, BlastRadius, Pause, policy_diff
from policies.names import action_key_problem

UPSTREAM_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
SEPARATOR = "__"
KEY_PREFIX = "mcp."
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
GATEWAY = "mcp gateway"  # the system actor of what the gateway changes by itself
SCHEMA_HOLD_REASON = "the upstream MCP server changed this tool's input schema; review it under MCP gateway › Tools"


def tool_name(upstream_name, name):
    """What MCP clients call an upstream's tool: `git__git_status`."""
    return f"{upstream_name}{SEPARATOR}{name}"


def split_tool_name(namespaced):
    """`git__git_status` → ("git", "git_status"); None for a name outside the rule."""
    upstream_name, separator, name = namespaced.partition(SEPARATOR)
    if not separator or not name or not UPSTREAM_NAME.match(upstream_name):
        return None
    return upstream_name, name


def action_key(upstream_name, name):
    """The action type of an upstream's tool: `mcp.git.git_status`."""
    return f"{KEY_PREFIX}{upstream_name}.{name}"


def withheld_reason(upstream_name, name):
    """Why a tool cannot be offered to clients under the naming rule, or ""."""
    namespaced = tool_name(upstream_name, name)
    if not TOOL_NAME.match(namespaced):
        if len(namespaced) > 128:
            return f"its namespaced name {namespaced[:40]}… would be {len(namespaced)} characters (MCP allows 128)"
        return "its name has characters MCP tool names do not allow (only A-Z, a-z, 0-9, _, - and .)"
    # Proposals of a key outside the format are refused, so its action type would be unusable.
    if problem := action_key_problem(action_key(upstream_name, name)):
        return f"its action type key would be refused: {problem}"
    return ""


def secret_fingerprint(value):
    """How a secret env or header value appears in exports and audit diffs: never in clear. Keyed
    with SECRET_KEY, so a short secret cannot be recovered by hashing guesses."""
    digest = salted_hmac("countersign.gateway.secret", value, algorithm="sha256").hexdigest()
    return f"(secret, fingerprint {digest[:16]})"


def url_shown(url):
    """An upstream URL as policies show it: in clear, unless a query string (where services put API
    keys) makes it a credential; then only its scheme, host and path, with a fingerprint."""
    if not url or not urlsplit(url).query:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?… {secret_fingerprint(url)}"


class Upstream(models.Model):
    """An MCP server Countersign connects to on its agents' behalf."""

    class Transport(models.TextChoices):
        STDIO = "stdio", "stdio (a command Countersign starts)"
        HTTP = "http", "Streamable HTTP (a URL)"

    name = models.CharField(
        max_length=32,
        unique=True,
        validators=[
            RegexValidator(
                UPSTREAM_NAME, "1–32 lowercase letters, digits and hyphens (not first or last), such as git."
            )
        ],
        help_text="Prefixes every tool it lists: git → git__git_status, action type mcp.git.git_status. Renaming "
        "it registers its tools again under the new name.",
    )
    description = models.TextField(blank=True)
    transport = models.CharField(max_length=8, choices=Transport, default=Transport.STDIO)
    command = models.CharField(max_length=500, blank=True, help_text="stdio: the executable, such as uvx.")
    args = models.JSONField(
        default=list, blank=True, help_text='stdio: its arguments, such as ["mcp-server-git", "--repository", "/srv"].'
    )
    env = models.JSONField(
        "environment",
        default=dict,
        blank=True,
        help_text="stdio: extra environment variables. Every value is treated as a secret: exports and the "
        "audit log show a fingerprint only.",
    )
    cwd = models.CharField("working directory", max_length=500, blank=True, help_text="stdio: where it runs.")
    url = models.URLField(max_length=2000, blank=True, help_text="HTTP: the server's streamable HTTP endpoint.")
    headers = models.JSONField(
        default=dict,
        blank=True,
        help_text='HTTP: headers sent with every request, such as {"Authorization": "Bearer …"}. Every value is '
        "treated as a secret.",
    )
    timeout = models.FloatField(
        "timeout (seconds)",
        default=30.0,
        help_text="How long connecting, listing tools or one tool call may take before it counts as failed.",
    )
    enabled = models.BooleanField(default=True, help_text="Unticked: its tools are not offered and calls are refused.")
    listing = models.TextField(
        blank=True,
        editable=False,
        help_text="The tools as the server last listed them, as JSON text (key order kept): offered to clients, "
        "in their own words, and while the server cannot list them.",
    )
    listed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "upstream MCP server"

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.transport == self.Transport.STDIO:
            if not self.command:
                errors["command"] = "A stdio server needs a command to start."
            if self.url or self.headers:
                errors["url"] = "A stdio server has no URL or headers."
        else:
            if not self.url:
                errors["url"] = "An HTTP server needs its URL."
            elif urlsplit(self.url).username is not None:
                errors["url"] = "Put credentials in a header, not in the URL."
            if self.command or self.args or self.env or self.cwd:
                errors["command"] = "An HTTP server has no command, arguments, environment or working directory."
        if not isinstance(self.args, list) or not all(isinstance(arg, str) for arg in self.args):
            errors["args"] = 'A list of strings, such as ["--repository", "/srv/repo"].'
        for field, pattern, what in (("env", ENV_NAME, "variable"), ("headers", HEADER_NAME, "header")):
            value = getattr(self, field)
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                errors[field] = f"A mapping of {what} names to text values."
            elif bad := [name for name in value if not pattern.match(name)]:
                errors[field] = f"Not a valid {what} name: {', '.join(map(repr, bad))}."
        if self.timeout is not None and not 0 < self.timeout <= 3600:
            errors["timeout"] = "Between 0 and 3600 seconds."
        if errors:
            raise ValidationError(errors)

    def as_policy(self):
        """The server as `policies export` writes it and as changes are diffed: secrets as fingerprints."""
        if self.transport == self.Transport.STDIO:
            where = {
                "command": self.command,
                "args": list(self.args),
                "env": {name: secret_fingerprint(value) for name, value in sorted(self.env.items())},
                "cwd": self.cwd,
            }
        else:
            where = {
                "url": url_shown(self.url),
                "headers": {name: secret_fingerprint(value) for name, value in sorted(self.headers.items())},
            }
        return {"description": self.description, **where, "timeout": self.timeout, "enabled": self.enabled}

    def record_change(self, *, by, before, what="MCP server changed"):
        """After a save: the diff as a `policy.changed` event, in the caller's transaction. No diff, no event."""
        from audit.log import Actor, record

        diff = policy_diff(before, self.as_policy())
        if not diff:
            return None
        return record(
            kind="policy.changed",
            actor=Actor.user(by) if by is not None else Actor.system("policies import"),
            data={"what": what, "mcp_server": self.name, "diff": diff},
        )

    def connection_spec(self):
        """What a session needs to connect, as plain data: a changed spec means a new session."""
        from gateway.upstream import Spec

        return Spec(
            name=self.name,
            transport=self.transport,
            command=self.command,
            args=tuple(self.args),
            env=tuple(sorted(self.env.items())),
            cwd=self.cwd,
            url=self.url,
            headers=tuple(sorted(self.headers.items())),
            timeout=self.timeout,
        )

    def register_listing(self, tools):
        """Take in the upstream's `tools/list`: register each new tool as an action type, notice
        changed schemas, and return the tools clients may see as [(UpstreamTool, ActionType)].

        `tools` are the listed tools as JSON (`Tool.model_dump(by_alias=True)`)."""
        with transaction.atomic():
            known = {tool.name: tool for tool in self.tools.select_for_update()}
            listed = []
            for spec in tools:
                tool = known.get(spec["name"])
                if tool is None:
                    tool = UpstreamTool.first_listed(self, spec)
                else:
                    tool.listed_again(spec)
                if not tool.withheld_reason:
                    listed.append(tool)
            types = ActionType.objects.in_bulk([tool.action_key for tool in listed], field_name="key")
            # Kept as text, since jsonb would reorder every schema's keys; its age for the admin,
            # refreshed at most once a minute rather than written on every listing.
            text, now = json.dumps(tools, ensure_ascii=False), timezone.now()
            if text != self.listing or self.listed_at is None or self.listed_at < now - timedelta(minutes=1):
                self.listing, self.listed_at = text, now
                Upstream.objects.filter(pk=self.pk).update(listing=text, listed_at=now)
        return [(tool, types[tool.action_key]) for tool in listed if tool.action_key in types]

    def last_listing(self):
        """The last good listing, for while the server cannot list: (tools as JSON, [(UpstreamTool,
        ActionType)] of those clients may see)."""
        tools = json.loads(self.listing) if self.listing else []
        known = {tool.name: tool for tool in self.tools.filter(withheld_reason="")}
        types = ActionType.objects.in_bulk([tool.action_key for tool in known.values()], field_name="key")
        shown = [
            (known[spec["name"]], types.get(known[spec["name"]].action_key)) for spec in tools if spec["name"] in known
        ]
        return tools, [(tool, action_type) for tool, action_type in shown if action_type is not None]


def risk_from_annotations(annotations):
    """(irreversible, blast radius at least) from MCP's hints: `destructiveHint` makes a tool
    irreversible and `openWorldHint` gives it a blast radius of at least medium, each true unless
    the server says false, as MCP defines their defaults (a tool that says nothing may be
    destructive and open-world).

    `readOnlyHint` plays no part. MCP calls `destructiveHint` meaningful only when `readOnlyHint`
    is false, so a reader of the spec might take `readOnlyHint: true` alone as "not destructive";
    but that would let one claim of the server's lower the risk, and so the scrutiny, of every
    call: a permission, not a hint. A server that means it also says `destructiveHint: false`
    (mcp-server-git does), and an admin may lower the type's risk after reading the tool."""
    destructive = annotations.get("destructiveHint", True) is not False
    open_world = annotations.get("openWorldHint", True) is not False
    return destructive, BlastRadius.MEDIUM if open_world else BlastRadius.LOW


BLAST_ORDER = [BlastRadius.LOW, BlastRadius.MEDIUM, BlastRadius.HIGH]


class UpstreamTool(models.Model):
    """One tool an upstream lists, and the schema an admin last accepted for it."""

    upstream = models.ForeignKey(Upstream, on_delete=models.CASCADE, related_name="tools")
    name = models.CharField(max_length=500, help_text="The tool's name on its server.")
    title = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    annotations = models.JSONField(default=dict, blank=True, help_text="MCP's hints, as the server gave them.")
    input_schema = models.JSONField(default=dict, help_text="The input schema as the server lists it now.")
    output_schema = models.JSONField(null=True, blank=True)
    accepted_schema = models.JSONField(
        default=dict, help_text="The input schema as first listed or last accepted by an admin."
    )
    schema_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the server lists a schema other than the accepted one."
    )
    withheld_reason = models.CharField(max_length=500, blank=True)
    first_listed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["upstream", "name"]
        constraints = [models.UniqueConstraint(fields=["upstream", "name"], name="one_tool_name_per_upstream")]
        verbose_name = "MCP tool"

    def __str__(self):
        return self.namespaced_name

    @property
    def namespaced_name(self):
        return tool_name(self.upstream.name, self.name)

    @property
    def action_key(self):
        return action_key(self.upstream.name, self.name)

    @property
    def read_only_hint(self):
        """Shown to the admin; never a permission: a server can claim anything."""
        return self.annotations.get("readOnlyHint") is True

    @property
    def needs_review(self):
        return self.schema_changed_at is not None

    @classmethod
    def first_listed(cls, upstream, spec):
        tool = cls(upstream=upstream, name=spec["name"][:500])
        tool._take(spec)
        tool.accepted_schema = tool.input_schema
        tool.withheld_reason = withheld_reason(upstream.name, tool.name)
        tool.save()
        if not tool.withheld_reason:
            tool._register_action_type()
        return tool

    def listed_again(self, spec):
        before = self._listing()
        self._take(spec)
        if self.input_schema != self.accepted_schema and self.schema_changed_at is None:
            self.schema_changed_at = timezone.now()
            self._hold_for_review()
        elif self.input_schema == self.accepted_schema and self.schema_changed_at is not None:
            self.schema_changed_at = None  # the server went back to what was accepted
            self._lift_review_hold(by=None)
        if self._listing() != before:
            self.save()

    def _listing(self):
        return (
            self.title,
            self.description,
            self.annotations,
            self.input_schema,
            self.output_schema,
            self.schema_changed_at,
        )

    def _take(self, spec):
        self.title = (spec.get("title") or (spec.get("annotations") or {}).get("title") or "")[:500]
        self.description = spec.get("description") or ""
        self.annotations = spec.get("annotations") or {}
        self.input_schema = spec.get("inputSchema") or {"type": "object"}
        self.output_schema = spec.get("outputSchema")

    def _register_action_type(self):
        """Make this tool an action type: a new one as a draft at `confirm`; one the policies
        document declared first is filled in where it says nothing, and its risk only raised."""
        irreversible, blast_radius = risk_from_annotations(self.annotations)
        action_type, created = ActionType.register_draft(
            self.action_key,
            by=GATEWAY,
            what=f"registered from MCP server '{self.upstream.name}' (tool '{self.name}')",
            details={"annotations": self.annotations},
            name=(self.title or self.name)[:200],
            description=self.description,
            params_schema=self.input_schema,
            irreversible=irreversible,
            blast_radius=blast_radius,
        )
        if created:
            return
        before = action_type.policy_snapshot()
        if not action_type.params_schema:
            action_type.params_schema = self.input_schema
        if action_type.name == action_type.key:
            action_type.name = (self.title or self.name)[:200]
        if not action_type.description:
            action_type.description = self.description
        action_type.irreversible = action_type.irreversible or irreversible
        if BLAST_ORDER.index(action_type.blast_radius) < BLAST_ORDER.index(blast_radius):
            action_type.blast_radius = blast_radius
        action_type.save()
        action_type.record_change(
            by=None,
            before=before,
            what=f"filled in from MCP server '{self.upstream.name}' (tool '{self.name}')",
            system=GATEWAY,
        )

    def _action_type_for_update(self):
        return ActionType.objects.select_for_update().filter(key=self.action_key).first()

    def _hold_for_review(self):
        """What reviewers approve must not change under them: hold every call for a person until an
        admin accepts the new schema. A type already paused keeps its own switch."""
        action_type = self._action_type_for_update()
        if action_type is None or action_type.pause:
            return
        before = action_type.policy_snapshot()
        action_type.pause, action_type.pause_reason = Pause.HOLD, SCHEMA_HOLD_REASON
        action_type.save(update_fields=["pause", "pause_reason", "updated_at"])
        what = f"held: MCP server '{self.upstream.name}' changed the input schema of tool '{self.name}'"
        action_type.record_change(by=None, before=before, what=what, system=GATEWAY)

    def _lift_review_hold(self, *, by):
        action_type = self._action_type_for_update()
        if action_type is None or action_type.pause_reason != SCHEMA_HOLD_REASON:
            return
        before = action_type.policy_snapshot()
        action_type.pause, action_type.pause_reason = Pause.OFF, ""
        action_type.save(update_fields=["pause", "pause_reason", "updated_at"])
        action_type.record_change(by=by, before=before, what="schema review hold lifted", system=GATEWAY)

    def accept_schema(self, *, by):
        """An admin accepts the schema the server now lists. Where the type's schema was still the
        one accepted before, it becomes the new one; where an admin had tightened it, it is left
        for them to reconcile. Lifts the review hold."""
        with transaction.atomic():
            tool = UpstreamTool.objects.select_for_update().select_related("upstream").get(pk=self.pk)
            if tool.schema_changed_at is None:
                return False
            action_type = tool._action_type_for_update()
            if action_type is not None and action_type.params_schema == tool.accepted_schema:
                before = action_type.policy_snapshot()
                action_type.params_schema = tool.input_schema
                action_type.save(update_fields=["params_schema", "updated_at"])
                action_type.record_change(by=by, before=before, what="accepted the MCP server's new input schema")
            tool.accepted_schema, tool.schema_changed_at = tool.input_schema, None
            tool.save(update_fields=["accepted_schema", "schema_changed_at"])
            tool._lift_review_hold(by=by)
        self.refresh_from_db()
        return True


class ClientSession(models.Model):
    """A 2025-era MCP session (`Mcp-Session-Id`), kept where every web process reads it: any process
    answers any request of the session, and a restart drops none. It holds only what later requests
    need: whose it is. Its id is the run that groups the session's calls in the inbox."""

    id = models.CharField(primary_key=True, max_length=64)
    agent = models.ForeignKey("policies.Agent", on_delete=models.CASCADE, related_name="+")
    protocol_version = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "MCP client session"

    def __str__(self):
        return self.id

    @classmethod
    def open(cls, *, agent, protocol_version):
        import secrets

        return cls.objects.create(id=secrets.token_hex(16), agent=agent, protocol_version=protocol_version[:32])


class ToolTask(models.Model):
    """A held `tools/call` as a task of MCP's Tasks extension (`io.modelcontextprotocol/tasks`): a
    row, not a socket, so that a poll or a cancel reaching any web process acts on the same action,
    and a client may go away and come back. Its status follows the action's; its result is the
    upstream's `CallToolResult` once the approved call has run (or the reason it was not run)."""

    class Status(models.TextChoices):
        WORKING = "working"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey("policies.Agent", on_delete=models.CASCADE, related_name="+")
    action = models.ForeignKey("approvals.Action", on_delete=models.CASCADE, related_name="+")
    tool = models.ForeignKey(UpstreamTool, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status, default=Status.WORKING)
    status_message = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True, help_text="The CallToolResult, once completed.")
    error = models.JSONField(null=True, blank=True, help_text="The JSON-RPC error, once failed.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "MCP task"

    def __str__(self):
        return str(self.id)


class ForwardedCall(models.Model):
    """An approved call the gateway sent upstream: inserted before sending, so that of every request
    and process holding the same action (a retry attached to it, two pollers of its task) exactly
    one runs it. A call that failed midway is never sent again: it may have run."""

    action = models.OneToOneField("approvals.Action", on_delete=models.CASCADE, primary_key=True, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "MCP call forwarded upstream"

    def __str__(self):
        return str(self.action_id)
