// The LangGraph.js adapter with the real `@langchain/langgraph`: graphs whose nodes call interrupt() with
// LangChain's HITL middleware payload, a payload of their own (a custom mapping) and the generic one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Annotation, END, MemorySaver, START, StateGraph, interrupt } from "@langchain/langgraph";
import { settled } from "../dist/index.js";
import { generic, run } from "../dist/langgraph.js";
import { client, fetchAction, outages, session, theReviewer } from "./support.mjs";

const EMAIL = { to: "ann@example.com", subject: "Your invioce", body: "Attached." };

const State = Annotation.Root({ told: Annotation(), ran: Annotation({ reducer: (a, b) => a.concat(b), default: () => [] }) });

/** A one-node graph: `ask()` interrupts with a payload and `act(answer)` returns the state update. */
function graph(node) {
  return new StateGraph(State).addNode("gate", node).addEdge(START, "gate").addEdge("gate", END).compile({ checkpointer: new MemorySaver() });
}

const thread = () => ({ configurable: { thread_id: session("thread") } });

// LangChain.js's humanInTheLoopMiddleware payload and decisions, raised by a node of our own.
function middlewareGraph(args = EMAIL, { fail = false } = {}) {
  return graph(() => {
    const { decisions } = interrupt({
      actionRequests: [{ name: "email", args, description: "Tool execution requires approval" }],
      reviewConfigs: [{ actionName: "email", allowedDecisions: ["approve", "edit", "reject"] }],
    });
    const [decision] = decisions;
    if (decision.type === "reject") return { told: decision.message };
    const ranWith = decision.type === "edit" ? decision.editedAction.args : args;
    if (fail) throw new Error("SMTP said no");
    return { ran: [ranWith], told: decision.type };
  });
}

function start(countersign, g, sessionId, options = {}) {
  const decisions = [];
  const result = run(countersign, g, { ran: [] }, thread(), {
    session_id: sessionId,
    waitTimeout: 60, // a failed test must not leave an agent waiting for good
    actionNames: { email: "email.send" },
    onDecision: (d) => decisions.push(d),
    ...options,
  });
  return { result, decisions };
}

test("middleware payload approved: the graph resumes, the call runs, the action ends executed", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("lg-approve");
  const { result, decisions } = start(countersign, middlewareGraph(), sessionId);
  await reviewer.approve(await reviewer.pending(sessionId));
  const state = await result;

  assert.deepEqual(state.ran, [EMAIL]);
  assert.equal(state.told, "approve");
  await settled(countersign);
  assert.equal((await fetchAction(decisions[0].action.id)).status, "executed");
});

test("middleware payload edited: resumed with editedAction carrying the reviewer's arguments", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("lg-edit");
  const { result } = start(countersign, middlewareGraph(), sessionId);
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });

  assert.deepEqual((await result).ran, [{ ...EMAIL, subject: "Your invoice" }]);
});

test("middleware payload rejected: resumed with a rejection carrying the reason; nothing runs", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("lg-reject");
  const { result } = start(countersign, middlewareGraph(), sessionId);
  await reviewer.reject(await reviewer.pending(sessionId), "Ann already has it");
  const state = await result;

  assert.deepEqual(state.ran, []);
  assert.match(state.told, /Ann already has it/);
});

test("two calls in one interrupt reach the inbox together, and each gets its own decision", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("lg-two");
  const second = { ...EMAIL, to: "bob@example.com" };
  const g = graph(() => {
    const { decisions } = interrupt({
      actionRequests: [{ name: "email", args: EMAIL }, { name: "email", args: second }],
      reviewConfigs: [{ actionName: "email", allowedDecisions: ["approve", "edit", "reject"] }],
    });
    return { ran: decisions.map((d, i) => (d.type === "approve" ? [EMAIL, second][i] : d.message)) };
  });
  const { result } = start(countersign, g, sessionId);
  const [a, b] = await reviewer.pendingAll(sessionId, 2); // both waiting before anyone decided
  await reviewer.reject(a, "Not this one");
  await reviewer.approve(b);
  const ran = (await result).ran;

  assert.equal(ran.length, 2);
  assert.equal(ran.filter((r) => typeof r === "string" && /Not this one/.test(r)).length, 1, JSON.stringify([a, b, ran]));
  assert.equal(ran.filter((r) => typeof r === "object").length, 1);
});

test("two nodes interrupting at once are resumed together, each with its own answer (a map by interrupt id)", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("lg-parallel");
  const ask = (to) => () => {
    const answer = interrupt({ action: "email.send", args: { ...EMAIL, to } });
    return { ran: [answer.approved ? to : `not ${to}`] };
  };
  const g = new StateGraph(State)
    .addNode("ann", ask("ann@example.com"))
    .addNode("bob", ask("bob@example.com"))
    .addEdge(START, "ann")
    .addEdge(START, "bob")
    .addEdge("ann", END)
    .addEdge("bob", END)
    .compile({ checkpointer: new MemorySaver() });
  const { result } = start(countersign, g, sessionId, { mappings: [generic] });
  const ids = await reviewer.pendingAll(sessionId, 2);
  const bob = (await Promise.all(ids.map((id) => fetchAction(id)))).find((a) => a.params.to === "bob@example.com");
  for (const id of ids) {
    if (id === bob.id) await reviewer.reject(id, "Not Bob");
    else await reviewer.approve(id);
  }

  assert.deepEqual((await result).ran.sort(), ["ann@example.com", "not bob@example.com"]);
});

test("a node that fails after approval: the action ends failed and the error reaches the caller", async () => {
  const countersign = client();
  const { result, decisions } = start(countersign, middlewareGraph({ ticket: "T-1" }, { fail: true }), session("lg-fail"), {
    actionNames: { email: "tickets.tag" },
  });
  await assert.rejects(result, /SMTP said no/);
  await settled(countersign);
  const action = await fetchAction(decisions[0].action.id);
  assert.equal(action.status, "failed");
  assert.match(action.outcome.error, /SMTP said no/);
});

test("a payload of your own, with a mapping; and the generic one with the edit note", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const refundRequest = graph(() => {
    const answer = interrupt({ kind: "please-email", recipient: "ann@example.com", title: "Your invioce" });
    return answer.ok ? { ran: [answer.with] } : { told: answer.why };
  });
  const mapping = {
    calls: (v) => (v?.kind === "please-email" ? [["email.send", { to: v.recipient, subject: v.title, body: "" }]] : null),
    resume: (_v, [d]) => ({ ok: d.verdict !== "reject", with: d.args, why: d.message }),
  };
  let sessionId = session("lg-custom");
  let pending = start(countersign, refundRequest, sessionId, { mappings: [mapping] });
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  assert.deepEqual((await pending.result).ran, [{ to: "ann@example.com", subject: "Your invoice", body: "" }]);

  const genericGraph = graph(() => {
    const answer = interrupt({ action: "email.send", args: EMAIL });
    return answer.approved ? { ran: [answer.args], told: answer.note } : { told: answer.message };
  });
  sessionId = session("lg-generic");
  pending = start(countersign, genericGraph, sessionId, { mappings: [generic] });
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  const state = await pending.result;
  assert.deepEqual(state.ran, [{ ...EMAIL, subject: "Your invoice" }]);
  assert.match(state.told, /A reviewer changed your call to email.send before it ran \(subject: "Your invioce" → "Your invoice"\)/);
});

test("an interrupt no mapping knows is left unanswered, with a clear error", async () => {
  const g = graph(() => ({ told: interrupt({ something: "else" }) }));
  await assert.rejects(run(client(), g, { ran: [] }, thread()), /Not a human-in-the-loop interrupt this adapter knows/);
});

test("fails closed: down, hung, 401, 422, no decision in time, an error inside the adapter", async () => {
  const { cases, close } = await outages();
  try {
    for (const outage of cases) {
      const { result } = start(outage.client, middlewareGraph(outage.args), session("lg-out"), { waitTimeout: outage.waitTimeout });
      const state = await result;
      assert.deepEqual(state.ran, [], outage.name);
      assert.match(state.told, outage.says, outage.name);
    }
  } finally {
    await close();
  }
});
