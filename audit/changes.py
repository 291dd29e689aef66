"""Policy changes in words: the field-by-field diffs that `policy.changed` events carry
({"autonomy": {"from": "confirm", "to": "audit"}, ...}), as lines a person reads, and the
one-line summary the audit log shows for such an event. Plain functions over plain data: this
app imports none of the others, so it knows the shape of a diff, not the policies behind it.
"""

import json

SUMMARY_LINES = 4  # a summary names this many changes, then says how many more
VALUE_WIDTH = 80  # characters of one value in a summary


def value_text(value, width=None):
    """A value as a person reads it: "—" for nothing, yes/no, JSON for a structure, never repr."""
    if value is None or value == "":
        text = "—"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def _keyed(items):
    """{key: item} for a list of dicts that each carry a name (rules) or a position (tiers)."""
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return None
    for key, label in (("name", "rule “{}”"), ("position", "tier {}")):
        if all(key in item for item in items):
            # The key names the item; its other fields in a stable order (jsonb keeps none).
            keyed = {label.format(item[key]): {f: item[f] for f in sorted(item) if f != key} for item in items}
            if len(keyed) == len(items):
                return keyed
    return None


def diff_lines(diff, width=None):
    """["autonomy confirm → audit", "rule “large” added: …", …] for a policy diff. A list of
    rules (or of escalation tiers) is compared item by item, by name (or position): added,
    removed, or which of its fields changed."""
    lines = []
    for name, change in (diff or {}).items():
        if not isinstance(change, dict) or set(change) - {"from", "to"}:
            lines.append(f"{name}: {value_text(change, width)}")
            continue
        before, after = change.get("from"), change.get("to")
        old, new = _keyed(before or []), _keyed(after or [])
        if old is None or new is None:
            lines.append(f"{name} {value_text(before, width)} → {value_text(after, width)}")
            continue
        for key, item in new.items():
            if key not in old:
                fields = ", ".join(f"{field} {value_text(value, width)}" for field, value in item.items())
                lines.append(f"{key} added: {fields}")
            elif item != old[key]:
                changed = [
                    f"{field} {value_text(old[key].get(field), width)} → {value_text(item.get(field), width)}"
                    for field in sorted({*old[key], *item})
                    if old[key].get(field) != item.get(field)
                ]
                lines.append(f"{key}: {', '.join(changed)}")
        lines += [f"{key} removed" for key in old if key not in new]
    return lines


def change_summary(*, action_type="", agent="", data=None):
    """One line for a `policy.changed` event: "Policy for payments.refund changed: autonomy
    confirm → audit", "Agent billing-agent: agent kill switch: pause — → hold"."""
    data = data if isinstance(data, dict) else {}
    subjects = []
    if action_type:
        subjects.append(f"Policy for {action_type}")
    if agent:
        subjects.append(f"agent {agent}" if subjects else f"Agent {agent}")
    if data.get("mcp_server"):
        subjects.append(f"MCP server {data['mcp_server']}")
    subject = ", ".join(subjects) or "Policy"
    what = str(data.get("what") or "")
    head = f"{subject} changed" if what in ("", "action type changed", "MCP server changed") else f"{subject}: {what}"
    if data.get("standing_approval"):
        head += f" (#{data['standing_approval']})"
    if data.get("version") and "diff" not in data:
        head += f" (version {data['version']})"
    lines = diff_lines(data.get("diff"), width=VALUE_WIDTH)
    if not lines:
        return head
    shown = "; ".join(lines[:SUMMARY_LINES])
    more = len(lines) - SUMMARY_LINES
    return f"{head}: {shown}" + (f"; and {more} more" if more > 0 else "")
