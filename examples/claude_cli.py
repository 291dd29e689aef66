"""A scripted stand-in for the Claude Code CLI, so the Claude Agent SDK examples and tests need no API key.

The SDK talks to the CLI over a `Transport` (JSON lines). This one plays the CLI's side of that
protocol for one scripted turn: it answers `initialize`, and on the user's message it "has Claude
call" the scripted tools in one assistant message, asks the SDK's `can_use_tool` for permission
for each (concurrently, as the CLI does), runs the allowed calls on the SDK's in-process MCP server
with the input the permission answer carried, runs the SDK's `PostToolUse` / `PostToolUseFailure`
hooks after each, hands the denial messages back as tool errors, and finishes the turn with a text
that repeats every tool result and every hook's `additionalContext` — so what "Claude" read is
visible. A permission request the SDK answers with an error (its callback raised) is a denial whose
message is that error, and the turn completes.
"""

import asyncio
import itertools
import json
import uuid

from claude_agent_sdk import Transport


class ScriptedCLI(Transport):
    def __init__(self, *calls):
        self.calls = calls  # (tool name, input); "mcp__<server>__<tool>" runs on that SDK MCP server
        self.outbox = asyncio.Queue()
        self.answers = {}
        self.ids = itertools.count(1)
        self.session = str(uuid.uuid4())
        self.tasks = []
        self.hooks = {}  # hook event → callback ids, from the SDK's initialize request

    async def connect(self):
        pass

    def is_ready(self):
        return True

    async def end_input(self):
        pass

    async def close(self):
        for task in self.tasks:
            task.cancel()

    async def read_messages(self):
        while True:
            message = await self.outbox.get()
            if message is None:
                return
            yield message

    async def write(self, data):
        message = json.loads(data)
        if message["type"] == "control_request" and message["request"]["subtype"] == "initialize":
            for event, matchers in (message["request"].get("hooks") or {}).items():
                self.hooks[event] = [i for matcher in matchers for i in matcher.get("hookCallbackIds", [])]
            await self._answer(message["request_id"], {"commands": [], "models": []})
        elif message["type"] == "control_request":
            await self._answer(message["request_id"], {})
        elif message["type"] == "control_response":
            self.answers.pop(message["response"]["request_id"]).set_result(message["response"])
        elif message["type"] == "user":
            self.tasks.append(asyncio.create_task(self._turn()))

    async def _answer(self, request_id, response):
        await self.outbox.put(
            {
                "type": "control_response",
                "response": {"subtype": "success", "request_id": request_id, "response": response},
            }
        )

    async def _ask(self, request):
        """Send the SDK a control request and wait for its answer, as the CLI does."""
        request_id = f"cli_{next(self.ids)}"
        self.answers[request_id] = asyncio.get_running_loop().create_future()
        await self.outbox.put({"type": "control_request", "request_id": request_id, "request": request})
        answer = await self.answers[request_id]
        if answer["subtype"] == "error":
            raise RuntimeError(answer["error"])
        return answer["response"]

    async def _permission(self, use):
        request = {"subtype": "can_use_tool", "tool_name": use["name"], "input": use["input"], "tool_use_id": use["id"]}
        try:
            return await self._ask(request)
        except RuntimeError as error:  # the SDK's callback raised: never run the tool, say why
            return {"behavior": "deny", "message": f"Permission check failed: {error}"}

    async def _after(self, event, use, **fields):
        """Run the SDK's hooks for `event` on one tool use; the additional context they give "Claude"."""
        said = []
        for callback_id in self.hooks.get(event, []):
            hook_input = {
                "hook_event_name": event,
                "session_id": self.session,
                "tool_name": use["name"],
                "tool_input": use["input"],
                "tool_use_id": use["id"],
                **fields,
            }
            request = {"subtype": "hook_callback", "callback_id": callback_id, "input": hook_input}
            output = await self._ask({**request, "tool_use_id": use["id"]})
            context = (output.get("hookSpecificOutput") or {}).get("additionalContext")
            if context:
                said.append(context)
        return said

    def _assistant(self, content):
        return {
            "type": "assistant",
            "message": {"role": "assistant", "model": "scripted", "content": content},
            "parent_tool_use_id": None,
            "session_id": self.session,
        }

    async def _turn(self):
        for server in {name.split("__")[1] for name, _ in self.calls if name.startswith("mcp__")}:
            await self._connect(server)  # the CLI starts its MCP servers before the model's first turn
        uses = [
            {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:12]}", "name": name, "input": tool_input}
            for name, tool_input in self.calls
        ]
        await self.outbox.put(self._assistant(uses))
        results = await asyncio.gather(*(self._use(use) for use in uses))
        await self.outbox.put(
            {
                "type": "user",
                "message": {"role": "user", "content": [r for r, _ in results]},
                "parent_tool_use_id": None,
                "session_id": self.session,
            }
        )
        text = " | ".join(said for _, said in results)
        await self.outbox.put(self._assistant([{"type": "text", "text": text}]))
        await self.outbox.put(
            {
                "type": "result",
                "subtype": "success",
                "duration_ms": 1,
                "duration_api_ms": 1,
                "is_error": False,
                "num_turns": 1,
                "session_id": self.session,
                "result": text,
            }
        )
        await self.outbox.put(None)

    async def _use(self, use):
        """(the tool_result block, its text) for one tool use: asked for, then run or denied."""
        permission = await self._permission(use)
        if permission["behavior"] == "deny":
            said, is_error = permission["message"], True
        else:
            use = {**use, "input": permission["updatedInput"]}
            (said, content), is_error = await self._run(use["name"], use["input"]), False
            if isinstance(content, Exception) or content.get("isError"):
                is_error = True
                context = await self._after("PostToolUseFailure", use, error=said)
            else:
                context = await self._after("PostToolUse", use, tool_response=content["content"])
            said = "\n".join([*context, said])
        return {"type": "tool_result", "tool_use_id": use["id"], "content": said, "is_error": is_error}, said

    async def _connect(self, server):
        client_info = {"name": "scripted-cli", "version": "1"}
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client_info}
        await self._mcp(server, "initialize", hello)
        notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self._ask({"subtype": "mcp_message", "server_name": server, "message": notice})

    async def _run(self, name, arguments):
        """(the text the tool answered, its MCP result) — or (the error, the exception) for a JSON-RPC error."""
        _, server, tool = name.split("__", 2)
        answer = await self._mcp(server, "tools/call", {"name": tool, "arguments": arguments})
        if "error" in answer:
            return answer["error"].get("message", "the tool failed"), RuntimeError(answer["error"])
        result = answer["result"]
        return " ".join(block["text"] for block in result["content"] if block["type"] == "text"), result

    async def _mcp(self, server, method, params):
        message = {"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params}
        answer = await self._ask({"subtype": "mcp_message", "server_name": server, "message": message})
        return answer["mcp_response"]
