// The client against the live Countersign: propose, wait, report, cancel, repeat, typed errors, retries,
// abort signals, receipts — with the reviewer deciding in the inbox.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Cancelled,
  Client,
  Conflict,
  InvalidParams,
  NotFound,
  ReceiptInvalid,
  Rejected,
  ServerUnavailable,
  StillPending,
  Unauthorized,
  canonicalJson,
  verifyReceipt,
} from "../dist/index.js";
import { createServer, request } from "node:http";
import { URL_, client, downUrl, hungServer, session, theReviewer } from "./support.mjs";

const EMAIL = { to: "ann@example.com", subject: "Your invioce", body: "Attached." };

test("an approved proposal comes back from wait with its receipt, and its outcome is recorded", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("approve");
  const proposed = await countersign.propose("email.send", EMAIL, { session_id: sessionId, rationale: "Reply to T-1" });
  assert.equal(proposed.status, "pending");
  assert.equal(proposed.summary, "Email ann@example.com: Your invioce");

  const waiting = countersign.wait(proposed.id, { timeout: 30 });
  await reviewer.approve(await reviewer.pending(sessionId));
  const approved = await waiting;

  assert.equal(approved.status, "approved");
  assert.deepEqual(approved.final_params, EMAIL);
  await countersign.verify(approved); // signed over exactly these parameters, by the agent's secret
  await assert.rejects(countersign.verify(approved), /already used/);
  const reported = await countersign.report(approved.id, { succeeded: true, output: { message_id: "m-1" } });
  assert.equal(reported.status, "executed");
  assert.deepEqual(reported.outcome.output, { message_id: "m-1" });
  // Reporting the same outcome again is harmless.
  assert.equal((await countersign.report(approved.id, { succeeded: true, output: { message_id: "m-1" } })).status, "executed");
});

test("an edit reaches the agent as final_params, and the receipt covers the edit, not the proposal", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("edit");
  const proposed = await countersign.propose("email.send", EMAIL, { session_id: sessionId });
  const waiting = countersign.wait(proposed.id, { timeout: 30 });
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  const approved = await waiting;

  assert.deepEqual(approved.final_params, { ...EMAIL, subject: "Your invoice" });
  assert.equal(approved.decision.edited, true);
  await assert.rejects(
    verifyReceipt(approved.receipt, process.env.COUNTERSIGN_RECEIPT_SECRET, { params: approved.params }),
    ReceiptInvalid,
  );
  await verifyReceipt(approved.receipt, process.env.COUNTERSIGN_RECEIPT_SECRET, { params: approved.final_params });
});

test("a rejection throws Rejected with the reviewer's reason", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("reject");
  const proposed = await countersign.propose("email.send", EMAIL, { session_id: sessionId });
  const waiting = countersign.wait(proposed.id, { timeout: 30 }).catch((e) => e);
  await reviewer.reject(await reviewer.pending(sessionId), "Wrong customer");

  const error = await waiting;
  assert.ok(error instanceof Rejected);
  assert.equal(error.reason, "Wrong customer");
  assert.equal(error.action.status, "rejected");
  await assert.rejects(countersign.report(proposed.id, { succeeded: true }), Conflict);
});

test("wait gives up with StillPending at its deadline; cancel withdraws the action, twice harmlessly", async () => {
  const countersign = client();
  const proposed = await countersign.propose("email.send", EMAIL, { session_id: session("cancel") });

  await assert.rejects(countersign.wait(proposed.id, { timeout: 0.3, poll: 0.1 }), StillPending);
  assert.equal((await countersign.cancel(proposed.id)).status, "cancelled");
  assert.equal((await countersign.cancel(proposed.id)).status, "cancelled");
  await assert.rejects(countersign.wait(proposed.id, { timeout: 5 }), Cancelled);
});

test("an abort signal stops a long-poll at once, with the caller's reason", async () => {
  const countersign = client();
  const proposed = await countersign.propose("email.send", EMAIL, { session_id: session("abort") });
  const controller = new AbortController();
  const waiting = countersign.wait(proposed.id, { timeout: 60, signal: controller.signal });
  setTimeout(() => controller.abort(new Error("the user closed the tab")), 100);

  await assert.rejects(waiting, /the user closed the tab/);
  await countersign.cancel(proposed.id, { signal: AbortSignal.timeout(5000) });
  await assert.rejects(countersign.get(proposed.id, { signal: AbortSignal.abort(new Error("already")) }), /already/);
});

test("one Idempotency-Key is one action: replaying it returns the same action", async () => {
  const countersign = client();
  const key = session("idem");
  const first = await countersign.propose("tickets.tag", { ticket: "T-1", tag: "billing" }, { idempotencyKey: key });
  const again = await countersign.propose("tickets.tag", { ticket: "T-1", tag: "billing" }, { idempotencyKey: key });

  assert.equal(first.status, "approved"); // act with audit: approved at once by policy
  assert.equal(again.id, first.id);
});

test("errors are typed by the API's codes", async () => {
  const countersign = client();
  const invalid = await countersign.propose("payments.refund", { customer: "cus_1", amount: -5 }).catch((e) => e);
  assert.ok(invalid instanceof InvalidParams);
  assert.equal(invalid.status, 422);
  assert.equal(invalid.code, "params_invalid");
  assert.ok(invalid.errors.length >= 2, JSON.stringify(invalid.errors)); // every schema error, for a repair loop

  const unauthorized = await new Client(URL_, "cs_wrong").propose("email.send", EMAIL).catch((e) => e);
  assert.ok(unauthorized instanceof Unauthorized);
  assert.equal(unauthorized.status, 401);

  await assert.rejects(countersign.get("00000000-0000-0000-0000-000000000000"), NotFound);
  const key = session("reused");
  await countersign.propose("tickets.tag", { ticket: "T-2" }, { idempotencyKey: key });
  const reused = await countersign.propose("tickets.tag", { ticket: "T-3" }, { idempotencyKey: key }).catch((e) => e);
  assert.equal(reused.constructor.name, "ApiError");
  assert.deepEqual([reused.status, reused.code], [422, "idempotency_key_reused"]);
});

test("Countersign down or hung is ServerUnavailable after the retries, never a hang", async () => {
  const down = new Client(await downUrl(), "t", { retries: 2, backoff: 0.01 });
  const error = await down.propose("email.send", EMAIL).catch((e) => e);
  assert.ok(error instanceof ServerUnavailable, String(error));
  assert.match(error.message, /could not be reached/);

  const hung = await hungServer();
  try {
    const slow = new Client(hung.url, "t", { retries: 1, backoff: 0.01, timeout: 0.2 });
    const timedOut = await slow.propose("email.send", EMAIL).catch((e) => e);
    assert.ok(timedOut instanceof ServerUnavailable);
    assert.match(timedOut.message, /no answer within 0.2 s/);
  } finally {
    await hung.close();
  }
});

test("repeat lets the model's next call with the reviewer's arguments through without a second review", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("repeat");
  const proposed = await countersign.propose("email.send", EMAIL, { session_id: sessionId });
  const waiting = countersign.wait(proposed.id, { timeout: 30 });
  await reviewer.edit(await reviewer.pending(sessionId), { subject: "Your invoice" });
  const approved = await waiting;

  await countersign.repeat(approved.id);
  const repeated = await countersign.propose("email.send", approved.final_params, { session_id: sessionId });
  assert.equal(repeated.status, "approved");
});

test("receipts are canonical JSON as Python writes it: keys sorted by code point, no spaces, no ASCII escaping", () => {
  assert.equal(canonicalJson({ b: [1, { d: "é", c: null }], a: 2.5 }), '{"a":2.5,"b":[1,{"c":null,"d":"é"}]}');
  assert.equal(canonicalJson({ "\uffff": 1, "😀": 2 }), '{"\uffff":1,"😀":2}');
});

/** A proxy to Countersign that drops the first `drops` connections without a word, as a restarting load
 * balancer would. */
async function flakyProxy(drops) {
  const target = new URL(URL_);
  let seen = 0;
  const server = createServer((incoming, outgoing) => {
    if (seen++ < drops) return incoming.socket.destroy();
    const upstream = request(
      { host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, dropped: () => Math.min(seen, drops), close: () => new Promise((r) => server.close(r)) };
}

test("wait rides out dropped connections: the long-poll is retried and the decision still arrives", async () => {
  const reviewer = await theReviewer();
  const sessionId = session("flaky");
  const proposed = await client().propose("email.send", EMAIL, { session_id: sessionId });
  const proxy = await flakyProxy(2);
  try {
    const flaky = new Client(proxy.url, process.env.COUNTERSIGN_TOKEN, { backoff: 0.01, retries: 3 });
    const waiting = flaky.wait(proposed.id, { timeout: 30 });
    await reviewer.approve(await reviewer.pending(sessionId));

    assert.equal((await waiting).status, "approved");
    assert.equal(proxy.dropped(), 2);
  } finally {
    await proxy.close();
  }
});

test("two waits at once: each gets its own decision as soon as it is made", async () => {
  const countersign = client();
  const reviewer = await theReviewer();
  const sessionId = session("two-waits");
  const first = await countersign.propose("email.send", EMAIL, { session_id: sessionId });
  const second = await countersign.propose("email.send", { ...EMAIL, to: "bob@example.com" }, { session_id: sessionId });
  const started = performance.now();
  const waits = [first, second].map((a) => countersign.wait(a.id, { timeout: 60 }).then((x) => [x.status, performance.now() - started], (e) => [e.name, performance.now() - started]));
  await reviewer.reject(first.id, "Not this one");
  await reviewer.approve(second.id);
  const [a, b] = await Promise.all(waits);

  assert.equal(a[0], "Rejected", JSON.stringify([a, b]));
  assert.equal(b[0], "approved", JSON.stringify([a, b]));
});
