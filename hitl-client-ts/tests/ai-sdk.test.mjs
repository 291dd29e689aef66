// The Vercel AI SDK adapter with the real `ai` package and its mock language model: a scripted model calls
// the email tool, Countersign decides through the inbox, the model's next prompt shows what it was told.
import assert from "node:assert/strict";
import { test } from "node:test";
import { generateText, stepCountIs, tool, jsonSchema } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { settled } from "../dist/index.js";
import { gateTool, runWithApprovals } from "../dist/ai-sdk.js";
import { client, fetchAction, outages, session, theReviewer } from "./support.mjs";

const EMAIL = { to: "ann@example.com", subject: "Your invioce", body: "Attached." };
const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

/** A model that calls `email` with `args`, then says "done"; `.prompts[1]` is what it read after the call. */
function scriptedModel(args) {
  const model = new MockLanguageModelV3({
    doGenerate: [
      {
        content: [{ type: "tool-call", toolCallId: `call-${Math.random()}`, toolName: "email", input: JSON.stringify(args) }],
        finishReason: { unified: "tool-calls", raw: "tool_calls" },
        usage,
        warnings: [],
      },
      { content: [{ type: "text", text: "done" }], finishReason: { unified: "stop", raw: "stop" }, usage, warnings: [] },
    ],
  });
  return model;
}

function emailTool(ran, { fail = false } = {}) {
  return tool({
    description: "Send an email",
    inputSchema: jsonSchema({ type: "object", properties: { to: {}, subject: {}, body: {} } }),
    execute: async (input) => {
      ran.push(input);
      if (fail) throw new Error("SMTP said no");
      return { message_id: "m-42" };
    },
  });
}

/** What the model read as the tool's result on its second turn. */
function toolResultSeen(model) {
  const message = model.doGenerateCalls[1].prompt.find((m) => m.role === "tool");
  return message.content[0].output;
}

async function run(countersign, { args = EMAIL, fail = false, sessionId, action = "email.send", ...options } = {}) {
  const ran = [];
  const decisions = [];
  const model = scriptedModel(args);
  const gated = gateTool(countersign, action, emailTool(ran, { fail }), {
    session_id: sessionId,
    waitTimeout: 60, // a failed test must not leave an agent waiting for good
    onDecision: (decision) => decisions.push(decision),
    ...options,
  });
  const result = generateText({ model, tools: { email: gated }, prompt: "Email Ann her invoice", stopWhen: stepCountIs(3) });
  return { ran, model, result, decisions };
}

test("approved: the tool runs with the model's arguments and the action ends executed with its output", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ai-approve");
  const { ran, model, result, decisions } = await run(countersign, { sessionId });
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
  const sessionId = session("ai-edit");
  const { ran, model, result } = await run(countersign, { sessionId });
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  await result;

  assert.deepEqual(ran, [{ ...EMAIL, subject: "Your invoice" }]);
  const seen = toolResultSeen(model);
  assert.equal(seen.type, "json");
  assert.match(seen.value.reviewer, /A reviewer changed your call to email.send before it ran \(subject: "Your invioce" → "Your invoice"\)/);
  assert.deepEqual(seen.value.result, { message_id: "m-42" });
});

test("rejected: the tool does not run and the model reads the reviewer's reason", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ai-reject");
  const { ran, model, result } = await run(countersign, { sessionId });
  await reviewer.reject(await reviewer.pending(sessionId), "Ann already has it");
  await result;

  assert.deepEqual(ran, []);
  const seen = toolResultSeen(model);
  assert.equal(seen.type, "error-text");
  assert.match(seen.value, /email.send rejected by sue: Ann already has it/);
});

test("a tool that throws ends its action failed, with the error; the model reads the error", async () => {
  const countersign = client();
  // tickets.tag is act-with-audit: approved at once, so no reviewer is needed.
  const { ran, model, result, decisions } = await run(countersign, { args: { ticket: "T-9" }, fail: true, action: "tickets.tag" });
  await result;

  assert.deepEqual(ran, [{ ticket: "T-9" }]);
  assert.match(toolResultSeen(model).value, /SMTP said no/);
  await settled(countersign);
  const action = await fetchAction(decisions[0].action.id);
  assert.equal(action.status, "failed");
  assert.match(action.outcome.error, /SMTP said no/);
});

test("fails closed: down, hung, 401, 422, no decision in time, an error inside the adapter", async () => {
  const { cases, close } = await outages();
  try {
    for (const outage of cases) {
      const { ran, model, result, decisions } = await run(outage.client, { args: outage.args, waitTimeout: outage.waitTimeout, sessionId: session("ai-out") });
      await result;
      assert.deepEqual(ran, [], outage.name);
      if (outage.name === "wait timeout") assert.equal((await fetchAction(decisions[0].action.id)).status, "cancelled");
      const seen = toolResultSeen(model);
      assert.equal(seen.type, "error-text", outage.name);
      assert.match(seen.value, outage.says, outage.name);
    }
  } finally {
    await close();
  }
});

// The SDK's own tool approval (needsApproval), answered from Countersign by runWithApprovals.

function approvalModel(...calls) {
  const turns = calls.map((args) => ({
    content: [{ type: "tool-call", toolCallId: `call-${Math.random()}`, toolName: "email", input: JSON.stringify(args) }],
    finishReason: { unified: "tool-calls", raw: "tool_calls" },
    usage,
    warnings: [],
  }));
  turns.push({ content: [{ type: "text", text: "done" }], finishReason: { unified: "stop", raw: "stop" }, usage, warnings: [] });
  return new MockLanguageModelV3({ doGenerate: turns });
}

function startNative(countersign, sessionId, ...calls) {
  const ran = [];
  const decisions = [];
  const model = approvalModel(...calls);
  const email = { ...emailTool(ran), needsApproval: true };
  const generate = (messages) => generateText({ model, tools: { email }, messages, stopWhen: stepCountIs(3) });
  const done = runWithApprovals(countersign, generate, [{ role: "user", content: "Email Ann her invoice" }], {
    session_id: sessionId,
    waitTimeout: 60,
    actionNames: { email: "email.send" },
    onDecision: (d) => decisions.push(d),
  });
  return { ran, model, done, decisions };
}

/** Every tool result the model was sent, across its calls. */
function denialsSeen(model) {
  return model.doGenerateCalls.flatMap((c) => c.prompt.filter((m) => m.role === "tool").flatMap((m) => m.content.map((p) => p.output)));
}

test("needsApproval approved by Countersign: the SDK runs the tool and the outcome is reported", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ai-native-approve");
  const { ran, done, decisions } = startNative(countersign, sessionId, EMAIL);
  await reviewer.approve(await reviewer.pending(sessionId));
  const { result } = await done;

  assert.equal(result.text, "done");
  assert.deepEqual(ran, [EMAIL]);
  await settled(countersign);
  assert.equal((await fetchAction(decisions[0].action.id)).status, "executed");
});

test("needsApproval rejected: denied with the reviewer's reason, which the model reads", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ai-native-reject");
  const { ran, model, done } = startNative(countersign, sessionId, EMAIL);
  await reviewer.reject(await reviewer.pending(sessionId), "Ann already has it");
  await done;

  assert.deepEqual(ran, []);
  const [denied] = denialsSeen(model);
  assert.equal(denied.type, "execution-denied");
  assert.match(denied.reason, /email.send rejected by sue: Ann already has it/);
});

test("needsApproval edited: denied with the reviewer's arguments; the model's repeated call runs without a second review", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("ai-native-edit");
  const edited = { ...EMAIL, subject: "Your invoice" };
  const { ran, model, done, decisions } = startNative(countersign, sessionId, EMAIL, edited);
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  await done;

  assert.deepEqual(ran, [edited]);
  assert.match(denialsSeen(model)[0].reason, /call it again with exactly these arguments: .*"subject":"Your invoice".*approved without another review/);
  assert.deepEqual(decisions.map((d) => d.verdict), ["edit", "approve"]);
  assert.equal(decisions[1].action.status, "approved"); // by the repeat, not by a second card
});

test("needsApproval fails closed: down, hung, 401, 422, no decision in time, an error inside the adapter", async () => {
  const { cases, close } = await outages();
  try {
    for (const outage of cases) {
      const ran = [];
      const model = approvalModel(outage.args);
      const email = { ...emailTool(ran), needsApproval: true };
      await runWithApprovals(outage.client, (messages) => generateText({ model, tools: { email }, messages, stopWhen: stepCountIs(3) }),
        [{ role: "user", content: "go" }], { actionNames: { email: "email.send" }, waitTimeout: outage.waitTimeout, session_id: session("ai-native-out") });
      assert.deepEqual(ran, [], outage.name);
      assert.match(denialsSeen(model)[0].reason, outage.says, outage.name);
    }
  } finally {
    await close();
  }
});
