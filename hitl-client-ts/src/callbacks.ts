// Decision callbacks, checked by the agent's receiver before it acts on one: Standard Webhooks
// (https://www.standardwebhooks.com) headers webhook-id, webhook-timestamp and webhook-signature
// (`v1,<base64 HMAC-SHA256>` over `<id>.<timestamp>.<body>` under the agent's `whsec_…` secret).
// Delivery is at least once: de-duplicate on the webhook id, stable across retries of one decision.
import { createHmac, timingSafeEqual } from "node:crypto";
import { CallbackInvalid } from "./errors.js";
import type { Action } from "./types.js";

/** As the specification's libraries: a timestamp older or newer than this is a replay. */
export const TOLERANCE_SECONDS = 5 * 60;

/** The key of a `whsec_…` secret (base64 after the prefix). */
export function secretBytes(secret: string | Uint8Array): Buffer {
  if (typeof secret !== "string") return Buffer.from(secret);
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) throw new CallbackInvalid("The callback secret is not a whsec_… secret.");
  const key = Buffer.from(encoded, "base64");
  if (key.length === 0) throw new CallbackInvalid("The callback secret is empty.");
  return key;
}

/** The `v1,…` signature of one delivery: what the server sends in `webhook-signature`. */
export function signCallback(secret: string | Uint8Array, webhookId: string, timestamp: number, body: string | Uint8Array): string {
  const hmac = createHmac("sha256", secretBytes(secret));
  hmac.update(`${webhookId}.${Math.trunc(timestamp)}.`);
  hmac.update(typeof body === "string" ? Buffer.from(body, "utf8") : body);
  return `v1,${hmac.digest("base64")}`;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(" ") : value;
  }
  return undefined;
}

export interface VerifiedCallback {
  /** The id to de-duplicate on. */
  webhookId: string;
  /** The action, as `GET /api/v1/actions/{id}` returns it. */
  action: Action;
}

/** Check a callback's signature and timestamp. `body`: the raw request body as received (do not
 * re-serialise it); `headers`: a fetch `Headers` or Node's `req.headers`; `secret`: the agent's
 * `whsec_…` secret. Throws CallbackInvalid saying which check failed. */
export function verifyCallback(
  body: string | Uint8Array,
  headers: HeaderSource,
  secret: string | Uint8Array,
  options: { tolerance?: number; now?: number } = {},
): VerifiedCallback {
  const webhookId = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!webhookId || !timestamp || !signatures) {
    throw new CallbackInvalid("The request lacks the webhook-id, webhook-timestamp or webhook-signature header.");
  }
  if (!/^-?\d+$/.test(timestamp.trim())) throw new CallbackInvalid("The webhook-timestamp header is not a Unix time.");
  const sentAt = Number(timestamp);
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - sentAt) > (options.tolerance ?? TOLERANCE_SECONDS)) {
    throw new CallbackInvalid("The webhook-timestamp is too far from now: a replay, or a clock that is off.");
  }
  const expected = Buffer.from(signCallback(secret, webhookId, sentAt, body));
  // Space-separated, so that a sender rotating secrets may sign with both for a while.
  const matches = signatures
    .split(/\s+/)
    .filter((s) => s.startsWith("v1,"))
    .some((s) => {
      const given = Buffer.from(s);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  if (!matches) throw new CallbackInvalid("No signature matches: another secret signed it, or the body was altered.");
  let action: Action;
  try {
    action = JSON.parse(typeof body === "string" ? body : Buffer.from(body).toString("utf8")) as Action;
  } catch {
    throw new CallbackInvalid("The body is not JSON.");
  }
  return { webhookId, action };
}
