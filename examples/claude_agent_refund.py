"""A Claude Agent SDK client whose refund tool asks Countersign through `can_use_tool`.

The refund tool is an in-process MCP tool; `options(countersign)` gives a `can_use_tool` callback
that allows it (with your edited input, which the tool runs with, and Claude is told what you
changed) or denies it with your reason, which Claude reads, and post-tool hooks that report the
outcome, so the action ends `executed` or `failed`.
The Claude Code CLI and the model behind it are outside the product, so `claude_cli.ScriptedCLI`
(beside this file) plays the CLI's side of the SDK's protocol for one scripted turn and no API key
is needed: drop `transport=` to use the real CLI.

Run `make run`, then `.venv/bin/python examples/claude_agent_refund.py`, and decide in the inbox.
"""

import asyncio
import os

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    TextBlock,
    create_sdk_mcp_server,
    tool,
)
from claude_cli import ScriptedCLI

from hitl_client import Client
from hitl_client.claude_agent_sdk import options


@tool("refund", "Refund a customer's payment", {"customer": str, "amount": float, "currency": str})
async def refund(args):
    return {
        "content": [{"type": "text", "text": f"Refunded {args['amount']} {args['currency']} to {args['customer']}."}]
    }


async def main(countersign):
    settings = ClaudeAgentOptions(
        mcp_servers={"billing": create_sdk_mcp_server("billing", tools=[refund])},
        **options(countersign, action_names={"mcp__billing__refund": "payments.refund"}),
    )
    call = ("mcp__billing__refund", {"customer": "cus_123", "amount": 750, "currency": "USD"})
    async with ClaudeSDKClient(settings, transport=ScriptedCLI(call)) as claude:
        await claude.query("Order 981 was charged twice.")
        async for message in claude.receive_response():
            if isinstance(message, AssistantMessage):
                for block in message.content:
                    if isinstance(block, TextBlock):
                        print("Claude:", block.text)


if __name__ == "__main__":
    with Client(
        os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
        os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
    ) as countersign:
        print("Waiting for a person to decide in the inbox…", flush=True)
        asyncio.run(main(countersign))
