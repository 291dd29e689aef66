"""What a reviewer reads on an action's card: its parameters in words, its risk badges, its
deadline's state. A mixin of `Action`, apart from its state changes."""

import json
from typing import NamedTuple

from django.utils import timezone
from django.utils.functional import cached_property

from approvals.models.status import ActionStatus
from policies.models import StandingApproval


class Param(NamedTuple):
    name: str
    label: str
    text: str
    editable: bool
    value: object
    schema: dict
    pointer: str


class ActionCard:
    """Presentation of an `Action` (the fields it reads are the model's)."""

    @property
    def group_key(self):
        """The batch a card belongs to: the agent's own key, else agent + session + type."""
        if self.batch:
            return f"batch:{self.agent_id}:{self.batch}"
        return f"run:{self.agent_id}:{self.session_id}:{self.action_type_id}"

    @property
    def overdue(self):
        return self.status == ActionStatus.PENDING and self.due_at is not None and self.due_at <= timezone.now()

    @property
    def deadline_warned(self):
        """The SLA's warning for its current tier went out: its deadline is near."""
        return self.warned_tier is not None and self.warned_tier == self.escalation_tier

    def deadline_state(self):
        """The inbox's deadline badge for the channels' cards: ("passed", 0) while overdue,
        ("near", minutes left) once the SLA's warning went out, else None."""
        if self.status != ActionStatus.PENDING or self.due_at is None:
            return None
        if self.overdue:
            return "passed", 0
        if self.deadline_warned:
            return "near", max(round((self.due_at - timezone.now()).total_seconds() / 60), 0)
        return None

    @property
    def needs_deliberate_approval(self):
        """A pending irreversible action is approved in two steps in the inbox: an approval
        cannot be taken back (the agent is woken and its receipt issued at commit)."""
        return self.status == ActionStatus.PENDING and self.action_type.irreversible

    @cached_property
    def current_summary(self):
        """Rendered now, not at proposal time, so relative dates stay true."""
        return self.action_type.render_summary(self.final_params or self.params)

    def humanized_params(self, params=None):
        """The parameters a card lists, in the schema's order then the rest: each with its
        label, its value in words, whether it may be edited, and its value and schema for
        the card's rendering of nested values (`{% param_value %}`)."""
        from policies.schema import resolve
        from policies.summary import humanize, param_label

        params = self.params if params is None else params
        action_type = self.action_type
        root = action_type.params_schema or {}
        properties = root.get("properties", {})
        described = []
        for name, value in action_type.ordered_params(params).items():
            schema, pointer = resolve(properties.get(name, {}), root, f"properties/{name}")
            described.append(
                Param(
                    name,
                    param_label(name, schema),
                    humanize(name, value, schema, params),
                    action_type.may_edit(name),
                    value,
                    schema,
                    pointer,
                )
            )
        return described

    @property
    def reject_options(self):
        """The reasons the agent offered for a rejection, [{"name", "label"}] (HumanLayer's
        `reject_options`); a reviewer may pick one, and the agent gets its name back."""
        options = (self.context.get("humanlayer") or {}).get("spec", {}).get("reject_options") or []
        return [
            {"name": option["name"], "label": option.get("title") or option.get("description") or option["name"]}
            for option in options
            if isinstance(option, dict) and isinstance(option.get("name"), str)
        ]

    @cached_property
    def low_confidence(self):
        if isinstance(self.confidence, str):
            return self.confidence == "low"
        return isinstance(self.confidence, (int, float)) and self.confidence < 0.5

    @cached_property
    def untrusted_context(self):
        untrusted = self.context.get("untrusted") if isinstance(self.context, dict) else None
        if isinstance(untrusted, str):
            return [untrusted]
        return [str(path) for path in untrusted] if isinstance(untrusted, list) else []

    @cached_property
    def disagreeing_checkers(self):
        checkers = self.route.get("checkers", []) if isinstance(self.route, dict) else []
        return [c for c in checkers if isinstance(c, dict) and c.get("verdict") not in ("pass", None)]

    def similar_recent(self, count=100):
        """This agent's latest other proposals of this type, for trying a standing approval's scope on."""
        others = type(self).objects.filter(action_type_id=self.action_type_id, agent_id=self.agent_id)
        return others.exclude(pk=self.pk).only("params").order_by("-created_at")[:count]

    @property
    def allow_similar_refusal(self):
        """Why "Allow similar…" is not offered on this action, or "" (the standing approval's rules)."""
        return StandingApproval.refusal_for(self)

    def risk_labels(self):
        """The card's risk badges in words, for Slack and email (the inbox's template has its own)."""
        labels = []
        if self.action_type.irreversible:
            labels.append("Irreversible")
        if self.action_type.blast_radius != "low":
            labels.append(f"Blast radius: {self.action_type.get_blast_radius_display().lower()}")
        if self.low_confidence:
            labels.append("Low confidence")
        if self.untrusted_context:
            labels.append("Untrusted context: " + ", ".join(self.untrusted_context))
        labels += [f"Checker {c.get('name', '?')}: {c.get('verdict')}" for c in self.disagreeing_checkers]
        return labels

    def raw_json(self):
        raw = {
            "action": self.action_type.key,
            "params": self.params,
            "final_params": self.final_params,
            "confidence": self.confidence,
            "context": self.context,
            "route": self.route,
            "batch": self.batch,
            "session_id": self.session_id,
        }
        return json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=False)
