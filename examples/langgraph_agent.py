"""A LangChain agent (LangGraph underneath) whose human-in-the-loop interrupts are decided in Countersign.

The agent uses LangChain's own HumanInTheLoopMiddleware, unchanged; `hitl_client.langgraph.run`
proposes each interrupted tool call and resumes the graph with the decisions. A scripted chat
model stands in for a real one, so this runs without an API key: swap in any chat model.

Run `make run`, then `.venv/bin/python examples/langgraph_agent.py`, and decide in the inbox.
"""

import os

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from hitl_client import Client
from hitl_client.langgraph import run


class ScriptedChatModel(GenericFakeChatModel):
    def bind_tools(self, tools, **kwargs):
        return self


model = ScriptedChatModel(
    messages=iter(
        [
            AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "send_email",
                        "args": {"to": ["ann@example.com"], "subject": "Your invoice", "body": "Attached."},
                        "id": "call_1",
                    }
                ],
            ),
            AIMessage(content="I have emailed Ann her invoice."),
        ]
    )
)


@tool
def send_email(to: list[str], subject: str, body: str) -> str:
    """Send an email."""
    return f"sent {subject!r} to {', '.join(to)}"


agent = create_agent(
    model,
    tools=[send_email],
    middleware=[HumanInTheLoopMiddleware(interrupt_on={"send_email": True})],
    checkpointer=InMemorySaver(),
)

if __name__ == "__main__":
    with Client(
        os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
        os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
    ) as countersign:
        print("Waiting for a person to decide in the inbox…", flush=True)
        result = run(
            countersign,
            agent,
            {"messages": [{"role": "user", "content": "Email Ann her invoice."}]},
            {"configurable": {"thread_id": "example-1"}},
            action_names={"send_email": "email.send"},  # tool name → Countersign action type
        )
    for message in result["messages"][-2:]:
        print(f"{message.type}: {message.content}")
