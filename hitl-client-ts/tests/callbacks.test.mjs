// Decision callbacks: a delivery the server signed (Python's standardwebhooks library, as Countersign sends
// it) verifies here, and every way of tampering with it is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CallbackInvalid, signCallback, verifyCallback } from "../dist/index.js";

const sample = JSON.parse(process.env.COUNTERSIGN_CALLBACK_SAMPLE);

test("a callback the server signed verifies, with its id to de-duplicate on and the action", () => {
  const { webhookId, action } = verifyCallback(sample.body, sample.headers, sample.secret);

  assert.equal(webhookId, "msg_2Ld0x");
  assert.deepEqual(action, JSON.parse(sample.body));
  // Header names in any case, as Node's req.headers (lower case) or a fetch Headers object give them.
  verifyCallback(Buffer.from(sample.body), new Headers(sample.headers), sample.secret);
  assert.equal(signCallback(sample.secret, webhookId, Number(sample.headers["webhook-timestamp"]), sample.body), sample.headers["webhook-signature"]);
});

test("an altered body, another secret, a replayed timestamp or missing headers are refused", () => {
  const refused = (body, headers, secret, pattern, options) =>
    assert.throws(() => verifyCallback(body, headers, secret, options), (e) => e instanceof CallbackInvalid && pattern.test(e.message));

  refused(sample.body.replace("approved", "rejected"), sample.headers, sample.secret, /No signature matches/);
  refused(sample.body, sample.headers, "whsec_" + Buffer.from("another secret").toString("base64"), /No signature matches/);
  refused(sample.body, sample.headers, sample.secret, /too far from now/, { now: Number(sample.headers["webhook-timestamp"]) + 301 });
  refused(sample.body, { ...sample.headers, "webhook-signature": undefined }, sample.secret, /lacks/);
  refused(sample.body, { ...sample.headers, "webhook-timestamp": "yesterday" }, sample.secret, /not a Unix time/);
  refused(sample.body, sample.headers, "whsec_not base64!", /not a whsec_/);
  // A rotation signs with both secrets: either matching is enough.
  const both = { ...sample.headers, "webhook-signature": `v1,AAAA ${sample.headers["webhook-signature"]}` };
  assert.equal(verifyCallback(sample.body, both, sample.secret).webhookId, "msg_2Ld0x");
});
