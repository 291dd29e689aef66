"""A simulated agent that keeps proposing realistic actions through the HTTP API."""

import random
import time

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand

from hitl_client import ApiError, Client

FIRST_NAMES = ["ana", "ben", "chen", "dara", "emeka", "fatima", "goran", "hana", "ivan", "june"]


def realistic_proposal(rng):
    """One (action, params, fields) as a support/billing/ops agent would send."""
    kind = rng.choices(
        ["payments.refund", "email.send", "crm.delete_contacts", "tickets.tag", "docs.search", "deploy.production"],
        weights=[3, 3, 1, 4, 5, 1],
    )[0]
    ticket = f"T-{rng.randint(1000, 9999)}"
    session = f"run-{rng.randint(1, 40)}"
    name = rng.choice(FIRST_NAMES)
    if kind == "payments.refund":
        amount = rng.choice([12.5, 49, 75, 120, 310, 750, 1800])
        params = {
            "customer": f"cus_{rng.randint(10000, 99999)}",
            "amount": amount,
            "currency": rng.choice(["USD", "EUR", "GBP"]),
        }
        rationale = f"Customer reports a double charge on order {rng.randint(100, 999)} ({ticket})."
    elif kind == "email.send":
        params = {
            "to": [f"{name}@example.com"],
            "subject": f"Re: your ticket {ticket}",
            "body": (
                f"Hi {name.title()},\n\nWe have looked into {ticket} and refunded the duplicate charge."
                "\n\nBest,\nSupport"
            ),
        }
        rationale = f"Replying to {name} about {ticket}."
    elif kind == "crm.delete_contacts":
        params = {
            "contact_ids": [f"c_{rng.randint(1000, 9999)}" for _ in range(rng.randint(1, 8))],
            "reason": "GDPR erasure request",
        }
        rationale = f"Erasure request received in {ticket}."
    elif kind == "tickets.tag":
        params = {"ticket": ticket, "tags": rng.sample(["billing", "refund", "bug", "vip", "churn-risk", "gdpr"], 2)}
        rationale = "Tagging for routing."
    elif kind == "docs.search":
        params = {"query": rng.choice(["refund policy", "GDPR erasure", "deploy checklist", "SLA tiers"]), "limit": 5}
        rationale = "Looking up policy before answering."
    else:
        params = {
            "service": rng.choice(["billing-api", "web", "worker"]),
            "version": f"v1.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            "canary": True,
        }
        rationale = "All checks green on staging."
    fields = {
        "session_id": session,
        "on_behalf_of": f"{name}@example.com",
        "model": "gpt-5.1",
        "prompt_version": "support-agent@v7",
        "confidence": round(rng.uniform(0.4, 0.99), 2),
        "rationale": rationale,
        "context": {"ticket": ticket},
    }
    return kind, params, fields


class Command(BaseCommand):
    help = "Propose realistic actions through the HTTP API until stopped, like a real agent would."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.SITE_URL)
        parser.add_argument("--token", default=settings.HITL_DEMO_AGENT_TOKEN)
        parser.add_argument("--interval", type=float, default=8.0, help="Mean seconds between proposals.")
        parser.add_argument("--count", type=int, default=0, help="Stop after this many (0: never).")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, url, token, interval, count, seed, **options):
        rng = random.Random(seed)
        sent = 0
        with Client(url, token) as client:
            while not count or sent < count:
                action, params, fields = realistic_proposal(rng)
                try:
                    answer = client.propose(action, params, **fields)
                    self.stdout.write(f"proposed {action}: {answer['status']} — {answer['summary']}")
                    if answer["status"] == "approved":
                        client.report(answer["id"], succeeded=True, output={"ok": True})
                except (ApiError, httpx.HTTPError) as error:
                    self.stderr.write(f"proposal failed: {error}")
                sent += 1
                time.sleep(rng.expovariate(1 / interval) if interval else 0)
