// The OpenAI Agents JS adapter with the real `@openai/agents` and a scripted model: a refund tool with
// needsApproval, its interruptions decided by Countersign through the inbox.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Agent, Usage, tool } from "@openai/agents";
import { settled } from "../dist/index.js";
import { run } from "../dist/openai-agents.js";
import { client, fetchAction, outages, session, theReviewer } from "./support.mjs";

const EMAIL = { to: "ann@example.com", subject: "Your invioce", body: "Attached." };

/** A model that calls `email` with `args`, then says "done"; `.requests` holds what it was sent each turn. */
class ScriptedModel {
  requests = [];
  constructor(args) {
    this.args = args;
    this.callId = `call_${Math.random().toString(36).slice(2)}`;
  }
  async getResponse(request) {
    this.requests.push(request);
    const first = this.requests.length === 1;
    const output = first
      ? [{ type: "function_call", callId: this.callId, name: "email", arguments: JSON.stringify(this.args), status: "completed" }]
      : [{ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "done" }] }];
    return { usage: new Usage(), output };
  }
  async *getStreamedResponse() {
    throw new Error("not scripted");
  }
  /** The tool's output as the model read it on its second turn. */
  get toolOutputSeen() {
    const input = this.requests[1].input;
    const item = input.find((i) => i.type === "function_call_result");
    return item.output.text ?? item.output;
  }
}

function agentWith(args, ran, { fail = false } = {}) {
  const model = new ScriptedModel(args);
  const email = tool({
    name: "email",
    description: "Send an email",
    parameters: { type: "object", properties: { to: { type: "string" }, subject: { type: "string" }, body: { type: "string" } }, required: ["to", "subject", "body"], additionalProperties: false },
    strict: true,
    needsApproval: true,
    execute: async (input) => {
      ran.push(input);
      if (fail) throw new Error("SMTP said no");
      return "sent m-42";
    },
  });
  return { model, agent: new Agent({ name: "mailer", instructions: "Send emails", model, tools: [email] }) };
}

async function start(countersign, { args = EMAIL, fail = false, sessionId, ...options } = {}) {
  const ran = [];
  const decisions = [];
  const { model, agent } = agentWith(args, ran, { fail });
  const result = run(countersign, agent, "Email Ann her invoice", {
    session_id: sessionId,
    waitTimeout: 60, // a failed test must not leave an agent waiting for good
    actionNames: { email: options.action ?? "email.send" },
    onDecision: (d) => decisions.push(d),
    ...options,
  });
  return { ran, model, result, decisions };
}

test("approved: the tool runs with the model's arguments and the action ends executed", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("oa-approve");
  const { ran, model, result, decisions } = await start(countersign, { sessionId });
  await reviewer.approve(await reviewer.pending(sessionId));
  const finished = await result;

  assert.equal(finished.finalOutput, "done");
  assert.deepEqual(ran, [EMAIL]);
  assert.equal(model.toolOutputSeen, "sent m-42");
  await settled(countersign);
  const action = await fetchAction(decisions[0].action.id);
  assert.equal(action.status, "executed");
  assert.deepEqual(action.outcome.output, { result: "sent m-42" });
});

test("edited: the tool runs with the reviewer's arguments, without a second review, and the model is told", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("oa-edit");
  const { ran, model, result, decisions } = await start(countersign, { sessionId });
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  await result;

  assert.deepEqual(ran, [{ ...EMAIL, subject: "Your invoice" }]);
  assert.equal(decisions.length, 1); // one review: the edit was not asked for again
  assert.match(model.toolOutputSeen, /^A reviewer changed your call to email.send before it ran \(subject: "Your invioce" → "Your invoice"\)/);
  assert.match(model.toolOutputSeen, /sent m-42$/);
});

test("an irreversible type's edit runs as the reviewer made it, after one (deliberate) review", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("oa-irreversible");
  const refund = { customer: "cus_123", amount: 750, currency: "USD" };
  const { ran, model, result, decisions } = await start(countersign, { sessionId, args: refund, action: "payments.refund" });
  await reviewer.edit(await reviewer.pending(sessionId), { amount: "500" }, { irreversible: true });
  await result;

  assert.deepEqual(ran, [{ ...refund, amount: 500 }]);
  assert.equal(decisions.length, 1);
  assert.match(model.toolOutputSeen, /amount: 750 → 500/);
});

test("rejected: the tool does not run and the model reads the reason", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("oa-reject");
  const { ran, model, result } = await start(countersign, { sessionId });
  await reviewer.reject(await reviewer.pending(sessionId), "Ann already has it");
  await result;

  assert.deepEqual(ran, []);
  assert.match(model.toolOutputSeen, /email.send rejected by sue: Ann already has it/);
});

test("a tool that throws ends its action failed", async () => {
  const countersign = client();
  const { ran, result, decisions } = await start(countersign, { args: { ...EMAIL }, fail: true, action: "tickets.tag" });
  await result;

  assert.equal(ran.length, 1);
  await settled(countersign);
  assert.equal((await fetchAction(decisions[0].action.id)).status, "failed");
});

test("fails closed: down, hung, 401, 422, no decision in time, an error inside the adapter", async () => {
  const { cases, close } = await outages();
  try {
    for (const outage of cases) {
      const { ran, model, result } = await start(outage.client, { args: outage.args, waitTimeout: outage.waitTimeout, sessionId: session("oa-out") });
      await result;
      assert.deepEqual(ran, [], outage.name);
      assert.match(model.toolOutputSeen, outage.says, outage.name);
    }
  } finally {
    await close();
  }
});
