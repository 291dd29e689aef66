// The Mastra adapter with the real `@mastra/core` Agent and a scripted model (a language model of the AI SDK's
// v2 specification, the version Mastra 0.24 drives; the `ai@5` mock needs msw, so a few lines here instead):
// an email tool gated by Countersign, decided through the inbox.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Agent } from "@mastra/core/agent";
import { createTool } from "@mastra/core/tools";
import { z } from "zod";
import { settled } from "../dist/index.js";
import { gateTool } from "../dist/mastra.js";
import { client, fetchAction, outages, session, theReviewer } from "./support.mjs";

const EMAIL = { to: "ann@example.com", subject: "Your invioce", body: "Attached." };
const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };

function scriptedModel(args) {
  const turns = [
    [
      { type: "stream-start", warnings: [] },
      { type: "tool-call", toolCallId: `call-${Math.random().toString(36).slice(2)}`, toolName: "email", input: JSON.stringify(args) },
      { type: "finish", finishReason: "tool-calls", usage },
    ],
    [
      { type: "stream-start", warnings: [] },
      { type: "text-start", id: "t1" },
      { type: "text-delta", id: "t1", delta: "done" },
      { type: "text-end", id: "t1" },
      { type: "finish", finishReason: "stop", usage },
    ],
  ];
  const model = {
    specificationVersion: "v2",
    provider: "scripted",
    modelId: "scripted",
    supportedUrls: {},
    calls: [],
    async doGenerate(options) {
      const first = model.calls.length === 0;
      model.calls.push(options);
      const chunks = turns[first ? 0 : 1];
      const content = first
        ? [chunks[1]]
        : [{ type: "text", text: "done" }];
      return { content, finishReason: first ? "tool-calls" : "stop", usage, warnings: [] };
    },
    async doStream(options) {
      const chunks = turns[Math.min(model.calls.length, 1)];
      model.calls.push(options);
      return {
        stream: new ReadableStream({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
            controller.close();
          },
        }),
      };
    },
  };
  return model;
}

/** The tool's result as the model read it on its second turn. */
function toolResultSeen(model) {
  const message = model.calls[1].prompt.find((m) => m.role === "tool");
  return message.content[0].output;
}

function start(countersign, { args = EMAIL, fail = false, sessionId, action = "email.send", ...options } = {}) {
  const ran = [];
  const decisions = [];
  const email = createTool({
    id: "email",
    description: "Send an email",
    inputSchema: z.object({ to: z.any(), subject: z.any().optional(), body: z.any().optional(), ticket: z.any().optional() }),
    execute: async ({ context }) => {
      ran.push(context);
      if (fail) throw new Error("SMTP said no");
      return { message_id: "m-42" };
    },
  });
  const model = scriptedModel(args);
  const agent = new Agent({
    name: "mailer",
    instructions: "Send emails",
    model,
    tools: { email: gateTool(countersign, action, email, { session_id: sessionId, waitTimeout: 60, onDecision: (d) => decisions.push(d), ...options }) },
  });
  const result = agent.generate("Email Ann her invoice", { maxSteps: 3 });
  return { ran, model, result, decisions };
}

test("approved: the tool runs with the model's arguments and the action ends executed", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ma-approve");
  const { ran, model, result, decisions } = start(countersign, { sessionId });
  await reviewer.approve(await reviewer.pending(sessionId));
  const answer = await result;

  assert.equal(answer.text, "done");
  assert.deepEqual(ran, [EMAIL]);
  assert.deepEqual(toolResultSeen(model), { type: "json", value: { message_id: "m-42" } });
  await settled(countersign);
  const action = await fetchAction(decisions[0].action.id);
  assert.equal(action.status, "executed");
  assert.deepEqual(action.outcome.output, { message_id: "m-42" });
});

test("edited: the tool runs with the reviewer's arguments and the model is told what changed", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ma-edit");
  const { ran, model, result } = start(countersign, { sessionId });
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  await result;

  assert.deepEqual(ran, [{ ...EMAIL, subject: "Your invoice" }]);
  const seen = toolResultSeen(model).value;
  assert.match(seen.reviewer, /A reviewer changed your call to email.send before it ran \(subject: "Your invioce" → "Your invoice"\)/);
  assert.deepEqual(seen.result, { message_id: "m-42" });
});

test("rejected: the tool does not run and the model reads the reason", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ma-reject");
  const { ran, model, result } = start(countersign, { sessionId });
  await reviewer.reject(await reviewer.pending(sessionId), "Ann already has it");
  await result;

  assert.deepEqual(ran, []);
  assert.match(JSON.stringify(toolResultSeen(model)), /email.send rejected by sue: Ann already has it/);
});

test("a tool that throws ends its action failed", async () => {
  const countersign = client();
  const { ran, result, decisions } = start(countersign, { args: { to: "x", ticket: "T-1" }, fail: true, action: "tickets.tag" });
  await result;

  assert.equal(ran.length, 1);
  await settled(countersign);
  const action = await fetchAction(decisions[0].action.id);
  assert.equal(action.status, "failed");
  assert.match(action.outcome.error, /SMTP said no/);
});

test("fails closed: down, hung, 401, 422, no decision in time, an error inside the adapter", async () => {
  const { cases, close } = await outages();
  try {
    for (const outage of cases) {
      const { ran, model, result } = start(outage.client, { args: outage.args, waitTimeout: outage.waitTimeout, sessionId: session("ma-out") });
      await result;
      assert.deepEqual(ran, [], outage.name);
      assert.match(JSON.stringify(toolResultSeen(model)), outage.says, outage.name);
    }
  } finally {
    await close();
  }
});
