// Approval receipts, checked offline by whatever executes an approved action (the format of
// hitl_client/receipts.py, which the server's approvals/receipts.py signs): HMAC-SHA256 under the
// agent's receipt secret over the action id, its type, the final parameters and the expiry.
import { createHmac, timingSafeEqual } from "node:crypto";
import { ReceiptInvalid } from "./errors.js";
import type { Receipt } from "./types.js";

export const ALGORITHM = "HMAC-SHA256";
const PREFIX = "countersign-receipt-v1\n";

/** JSON as Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes it. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    // Python sorts keys by code point; JavaScript's default sort compares UTF-16 code units, which
    // agree except between astral characters and U+E000–U+FFFF: compare code points.
    const keys = Object.keys(value).sort((a, b) => {
      const ca = Array.from(a, (c) => c.codePointAt(0)!);
      const cb = Array.from(b, (c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i] - cb[i];
      return ca.length - cb.length;
    });
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The exact bytes a receipt's signature covers. */
export function signedBytes(actionId: string, action: string, params: unknown, expiresAt: number): string {
  return PREFIX + canonicalJson({ action_id: String(actionId), action, params, expires_at: Math.trunc(expiresAt) });
}

export function signature(secret: string, actionId: string, action: string, params: unknown, expiresAt: number): string {
  return createHmac("sha256", secret).update(signedBytes(actionId, action, params, expiresAt), "utf8").digest("hex");
}

/** The receipts already accepted: a receipt is good once. Give your own (a database table with a primary
 * key) to share the record between processes; this one holds it in memory. */
export interface ReceiptLedger {
  /** True the first time an action's receipt is claimed, false ever after. */
  claim(actionId: string): boolean | Promise<boolean>;
}

export class UsedReceipts implements ReceiptLedger {
  private readonly seen = new Set<string>();
  claim(actionId: string): boolean {
    if (this.seen.has(actionId)) return false;
    this.seen.add(actionId);
    return true;
  }
}

export interface VerifyReceiptOptions {
  params: unknown;
  actionId?: string;
  action?: string;
  used?: ReceiptLedger;
  /** Seconds since the epoch; default now. */
  now?: number;
}

/** Check that `receipt` approves exactly `params` (and, when given, this action id and type), that it has
 * not expired and, with `used`, that it was not used before; then mark it used. Throws ReceiptInvalid
 * saying which check failed. */
export async function verifyReceipt(
  receipt: Receipt | null | undefined,
  secret: string | null | undefined,
  options: VerifyReceiptOptions,
): Promise<Receipt> {
  if (!secret) throw new ReceiptInvalid("No receipt secret is configured, so the receipt cannot be checked.");
  if (!receipt || typeof receipt !== "object" || receipt.alg !== ALGORITHM) {
    throw new ReceiptInvalid("The action carries no Countersign receipt.");
  }
  if (typeof receipt.action_id !== "string" || typeof receipt.action !== "string" || typeof receipt.expires_at !== "number") {
    throw new ReceiptInvalid("The receipt is malformed: it lacks action_id, action or expires_at.");
  }
  const expected = Buffer.from(signature(secret, receipt.action_id, receipt.action, options.params, receipt.expires_at));
  const given = Buffer.from(String(receipt.signature ?? ""));
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new ReceiptInvalid("The receipt does not approve these parameters (or it was altered).");
  }
  if (options.actionId !== undefined && String(options.actionId) !== receipt.action_id) {
    throw new ReceiptInvalid("The receipt belongs to another action.");
  }
  if (options.action !== undefined && options.action !== receipt.action) {
    throw new ReceiptInvalid(`The receipt approves ${receipt.action}, not ${options.action}.`);
  }
  if ((options.now ?? Date.now() / 1000) >= receipt.expires_at) throw new ReceiptInvalid("The receipt has expired.");
  if (options.used && !(await options.used.claim(receipt.action_id))) {
    throw new ReceiptInvalid("The receipt was already used.");
  }
  return receipt;
}
