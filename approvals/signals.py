"""What other apps may hear of, in the transaction that causes it, without approvals knowing them
(a channel above approvals, such as push notifications, writes its own outbox rows from here)."""

from django.dispatch import Signal

# Sent with `kind` and `actions` (a list of Action) when actions come to want a person's attention:
#   "new"        proposed and now pending, for its type's reviewers;
#   "warning"    its deadline is near (the SLA warning), for whoever holds it;
#   "escalated"  moved up to the tier it now has (`action.escalation_tier`), for that tier.
# Sent inside the transaction that made the change, so a receiver's rows commit or vanish with it.
attention_needed = Signal()

# Sent with `action_ids` when actions changed in a way a card posted about them shows (a decision
# from any channel, an SLA warning, an escalation), in the changing transaction: a card channel
# above approvals (Microsoft Teams) queues its cards to be updated in place, as Slack's are.
cards_outdated = Signal()
