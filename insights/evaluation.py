"""Decisions as evaluation data: every decided action as one JSON Lines record (the schema is
docs/decision-record.schema.json), and an external checker evaluated against those labels.

A record is one action a person decided (approved, approved with an edit, or rejected), one a
timeout's fallback decided (`decided_by: "timeout"`), or one the policy approved that a sample
reviewer then graded (`decided_by: "policy"`, the grade being the person's label). Values are
redacted as the audit log redacts them: the type's `redact_paths` over the proposal (so that
`params.card_number` and `$.proposal.params.card_number` mean what they mean there) and the
secret detectors over everything the agent or a person wrote.
"""

import copy
import json
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Q

from approvals.models import SLA_TIMEOUT_NAME, Action, params_diff
from audit.redaction import redact, redact_text
from policies.routing import Proposal, ask_external_checker

SCHEMA_ID = "https://countersign.example/schemas/decision-record/v1"
VERDICTS = ("approved", "edited", "rejected")
DECIDERS = ("person", "timeout", "policy")


def decided_actions(*, action_type=None, since=None, until=None, decision=None, decided_by=None):
    """The decided actions, oldest proposal first, filtered by type key, proposal time, verdict
    (approved · edited · rejected) and decider (person · timeout · policy)."""
    graded = Q(decision__isnull=True, sample__isnull=False) & ~Q(sample__grade="")
    actions = Action.objects.filter(Q(decision__isnull=False) | graded)
    if action_type:
        actions = actions.filter(action_type__key=action_type)
    if since:
        actions = actions.filter(created_at__gte=since)
    if until:
        actions = actions.filter(created_at__lt=until)
    if decision == "approved":
        actions = actions.filter(Q(decision__verdict="approved", decision__edited=False) | graded)
    elif decision == "edited":
        actions = actions.filter(decision__verdict="approved", decision__edited=True)
    elif decision == "rejected":
        actions = actions.filter(decision__verdict="rejected")
    if decided_by == "person":
        actions = actions.filter(decision__isnull=False).exclude(decision__by_name=SLA_TIMEOUT_NAME)
    elif decided_by == "timeout":
        actions = actions.filter(decision__by_name=SLA_TIMEOUT_NAME)
    elif decided_by == "policy":
        actions = actions.filter(graded)
    return actions.select_related("action_type", "agent", "decision", "sample").order_by("created_at", "id")


def decision_record(action):
    """One action as an evaluation record, redacted."""
    paths = action.action_type.redact_paths or ()
    sent = {
        "action": action.action_type.key,
        "params": action.params,
        "context": action.context,
        "rationale": action.rationale,
        "confidence": action.confidence,
        "session_id": action.session_id,
        "on_behalf_of": action.on_behalf_of,
        "model": action.model,
        "prompt_version": action.prompt_version,
    }
    proposal = redact({"proposal": sent}, paths)["proposal"]
    context = proposal.pop("context")
    final = action.final_params
    final = redact({"proposal": {"params": final}}, paths)["proposal"]["params"] if final is not None else None
    # A missing reverse one-to-one raises an AttributeError too: getattr's default covers it.
    decision = getattr(action, "decision", None)
    sample = getattr(action, "sample", None)
    if decision is not None:
        by_kind = "timeout" if decision.by_name == SLA_TIMEOUT_NAME else "person"
        verdict = "rejected" if decision.verdict == "rejected" else ("edited" if decision.edited else "approved")
        decided = {
            "verdict": verdict,
            "decided_by": by_kind,
            "by": decision.by_name,
            "at": decision.at.isoformat(),
            "seconds_to_decide": decision.seconds_to_decide,
        }
        reason = redact_text(decision.reason)
        # The edit between what was proposed and what ran, over the redacted values: a redacted
        # field that was edited shows as its marker on both sides, not as its values.
        edits = params_diff(proposal["params"], final) if decision.edited and final is not None else {}
        if decision.edited and not edits:
            edits = {
                path: {"from": "[redacted]", "to": "[redacted]"}
                for path in params_diff(action.params, action.final_params)
            }
    else:
        decided = {
            "verdict": "approved",
            "decided_by": "policy",
            "by": "policy",
            "at": action.decided_at.isoformat() if action.decided_at else None,
            "seconds_to_decide": None,
        }
        reason, edits = "", {}
    return {
        "schema": SCHEMA_ID,
        "id": str(action.pk),
        "action_type": action.action_type.key,
        "agent": action.agent.name,
        "proposed_at": action.created_at.isoformat(),
        "policy_version": action.policy_version,
        "proposal": proposal
        | {
            "summary": redact_text(action.summary),
            "rationale": redact_text(action.rationale),
            "risk": action.risk_labels(),
        },
        "context": context,
        "route": {
            "level": action.autonomy,
            "reasons": [redact_text(reason) for reason in action.route.get("reasons", [])],
            "checkers": action.route.get("checkers", []),
            **({"shadow": action.route["shadow"]} if "shadow" in action.route else {}),
        },
        "decision": decided,
        "final_params": final,
        "edits": edits,
        "reason": reason,
        "sample": (
            {"grade": sample.grade, "note": redact_text(sample.note), "by": sample.graded_by_name}
            if sample is not None and sample.grade
            else None
        ),
        "status": action.status,
        "outcome": redact(action.outcome, paths) if action.outcome is not None else None,
    }


def decision_lines(actions):
    """JSON Lines, one record a line, in constant memory."""
    for action in actions.iterator(chunk_size=500):
        yield json.dumps(decision_record(action), ensure_ascii=False, default=str) + "\n"


# The checker's evaluation: people's decisions are the labels.


def expected_verdict(action):
    """What a checker that agrees with people answers: pass for what a person approved as
    proposed (or a sample reviewer graded correct), fail for what they rejected or edited (or
    graded incorrect); None where no person gave a label (a timeout, an `unsure` grade)."""
    decision = getattr(action, "decision", None)
    if decision is not None:
        if decision.by_name == SLA_TIMEOUT_NAME:
            return None
        return "pass" if decision.verdict == "approved" and not decision.edited else "fail"
    grade = action.sample.grade
    return {"correct": "pass", "incorrect": "fail"}.get(grade)


@dataclass
class Confusion:
    """One type's agreement: people's label (pass/fail) against the checker's verdict."""

    cells: Counter = field(default_factory=Counter)  # (people, checker) → count
    disagreements: list = field(default_factory=list)

    @property
    def total(self):
        return sum(self.cells.values())

    @property
    def agreed(self):
        return self.cells["pass", "pass"] + self.cells["fail", "fail"]

    @property
    def agreement(self):
        return self.agreed / self.total if self.total else None

    @property
    def agreement_text(self):
        return f"{self.agreement:.1%}" if self.total else "–"

    def as_json(self):
        return {
            "total": self.total,
            "agreement": self.agreement,
            "people_pass_checker_pass": self.cells["pass", "pass"],
            "people_pass_checker_fail": self.cells["pass", "fail"],
            "people_fail_checker_pass": self.cells["fail", "pass"],
            "people_fail_checker_fail": self.cells["fail", "fail"],
        }


def evaluate_checker(actions, *, url, secret, timeout=2.0, limit=500):
    """{type key: Confusion}: each labelled action of `actions` (at most `limit`) sent to the
    checker at `url` exactly as routing sends a live proposal (signed with `secret`), and its
    verdict set against what people decided. No answer counts as fail, as it does live."""
    tables = {}
    asked = 0
    for action in actions.iterator(chunk_size=200):
        expected = expected_verdict(action)
        if expected is None:
            continue
        if asked >= limit:
            break
        asked += 1
        checker_type = copy.copy(action.action_type)
        checker_type.checker_url, checker_type.checker_secret, checker_type.checker_timeout = url, secret, timeout
        proposal = Proposal(
            params=action.params,
            context=action.context,
            confidence=action.confidence,
            session_id=action.session_id,
            on_behalf_of=action.on_behalf_of,
        )
        verdict = ask_external_checker(checker_type, action.agent, proposal)
        table = tables.setdefault(action.action_type.key, Confusion())
        table.cells[expected, verdict["verdict"]] += 1
        if expected != verdict["verdict"] and len(table.disagreements) < 10:
            table.disagreements.append((str(action.pk), expected, verdict["verdict"], verdict.get("reason", "")))
    return dict(sorted(tables.items()))


def confusion_text(tables):
    """The tables as plain text, for the command and the log."""
    if not tables:
        return "No labelled decisions matched: nothing was sent to the checker.\n"
    lines = []
    for key, table in tables.items():
        lines += [
            f"{key}: {table.agreed} of {table.total} agree with people ({table.agreement:.1%})",
            f"  {'':22}{'checker pass':>14}{'checker fail':>14}",
            f"  {'people approved':22}{table.cells['pass', 'pass']:>14}{table.cells['pass', 'fail']:>14}",
            f"  {'people rejected/edited':22}{table.cells['fail', 'pass']:>14}{table.cells['fail', 'fail']:>14}",
        ]
        lines += [
            f"  disagrees on {pk}: people {want}, checker {got} {reason}".rstrip()
            for pk, want, got, reason in table.disagreements
        ]
    return "\n".join(lines) + "\n"
