// The agent side of Countersign's API (v1), as the Python client's hitl_client/client.py: propose a
// tool call, wait for the decision, report the outcome. It retries what is safe to retry — a dropped
// connection, a 5xx, a 429, and the 409 that says the same Idempotency-Key is still in flight — and a
// proposal keeps one Idempotency-Key across its retries, so a retry never creates a second action.
import { randomUUID } from "node:crypto";
import { Conflict, ENDED_BY_STATUS, ServerUnavailable, StillPending, errorFor, type ApiError } from "./errors.js";
import { UsedReceipts, verifyReceipt, type ReceiptLedger } from "./receipts.js";
import type { Action, ActionType, Escalation, EscalationIn, Proposal, ResultIn } from "./types.js";

export const WAITING = ["pending", "suggested"];
/** The server's cap on one long-poll, in seconds. */
export const MAX_POLL_SECONDS = 60;

export interface ClientOptions {
  /** Seconds for one ordinary request (a long-poll gets its own timeout plus 10 s). Default 10. */
  timeout?: number;
  /** Retries of a transient failure. Default 4. */
  retries?: number;
  /** Seconds before the first retry, doubled each time (with jitter). Default 0.25. */
  backoff?: number;
  /** The agent's receipt secret (`manage.py receipt_secret AGENT`), to check approvals offline. */
  receiptSecret?: string;
  /** Where spent receipts are recorded; default: in memory. */
  usedReceipts?: ReceiptLedger;
  /** A session id sent with every proposal that names none. */
  sessionId?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** The optional proposal fields (everything but `action` and `params`). */
export type ProposalFields = Omit<Proposal, "action" | "params">;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ProposeOptions extends ProposalFields, CallOptions {
  idempotencyKey?: string;
}

export interface WaitOptions extends CallOptions {
  /** Seconds to wait in all, across long-polls. Default 300. */
  timeout?: number;
  /** Seconds of one long-poll (at most 60). Default 25. */
  poll?: number;
}

export interface ReportOptions extends CallOptions {
  succeeded?: boolean;
  output?: Record<string, unknown> | null;
  error?: string;
}

interface RequestInit2 {
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  timeout?: number;
  signal?: AbortSignal;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The action if it left pending/suggested with something to run or report; throws if it ended. */
function finished(action: Action): Action {
  const Ended = ENDED_BY_STATUS[action.status];
  if (Ended) throw new Ended(action);
  return action;
}

/**
 *     const countersign = new Client("http://127.0.0.1:8000", "cs_…");
 *     let action = await countersign.propose("payments.refund", { customer: "cus_1", amount: 20, currency: "USD" });
 *     action = await countersign.wait(action.id);   // throws Rejected, Expired, Cancelled or StillPending
 */
export class Client {
  readonly baseUrl: string;
  readonly timeout: number;
  readonly retries: number;
  readonly backoff: number;
  readonly receiptSecret: string | undefined;
  readonly usedReceipts: ReceiptLedger;
  readonly sessionId: string | undefined;
  private readonly token: string;
  private readonly fetch: typeof fetch;

  constructor(baseUrl: string, token: string, options: ClientOptions = {}) {
    if (!token) throw new TypeError("A Countersign client needs the agent's token.");
    this.baseUrl = baseUrl.replace(/\/+$/, "") + "/api/v1";
    this.token = token;
    this.timeout = options.timeout ?? 10;
    this.retries = options.retries ?? 4;
    this.backoff = options.backoff ?? 0.25;
    this.receiptSecret = options.receiptSecret;
    this.usedReceipts = options.usedReceipts ?? new UsedReceipts();
    this.sessionId = options.sessionId;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** COUNTERSIGN_URL, COUNTERSIGN_TOKEN and (optional) COUNTERSIGN_RECEIPT_SECRET. */
  static fromEnv(options: ClientOptions = {}): Client {
    const token = process.env.COUNTERSIGN_TOKEN;
    if (!token) throw new Error("Set COUNTERSIGN_TOKEN to the agent's token (or pass a client).");
    return new Client(process.env.COUNTERSIGN_URL || "http://127.0.0.1:8000", token, {
      receiptSecret: process.env.COUNTERSIGN_RECEIPT_SECRET || undefined,
      ...options,
    });
  }

  /** Propose a tool call. Returns the action: `approved` (run it), `pending` (wait) or `suggested`. */
  async propose(action: string, params: Record<string, unknown>, options: ProposeOptions = {}): Promise<Action> {
    const { idempotencyKey, signal, ...fields } = options;
    const body: Record<string, unknown> = { action, params };
    if (this.sessionId && fields.session_id === undefined) body.session_id = this.sessionId;
    for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== null) body[key] = value;
    return this.call<Action>("POST", "/actions", {
      body,
      headers: { "Idempotency-Key": idempotencyKey ?? randomUUID() },
      signal,
    });
  }

  async get(actionId: string, options: CallOptions = {}): Promise<Action> {
    return this.call<Action>("GET", `/actions/${encodeURIComponent(actionId)}`, options);
  }

  /** Long-poll until the action leaves pending/suggested, resuming across each poll's timeout until
   * `timeout` seconds have passed. Returns the approved (or executed/dismissed) action; throws Rejected,
   * Expired or Cancelled when it ended so, StillPending at the deadline. */
  async wait(actionId: string, options: WaitOptions = {}): Promise<Action> {
    const deadline = performance.now() + (options.timeout ?? 300) * 1000;
    const poll = options.poll ?? 25;
    for (;;) {
      const step = Math.max(0, Math.min(poll, (deadline - performance.now()) / 1000, MAX_POLL_SECONDS));
      const action = await this.call<Action>("GET", `/actions/${encodeURIComponent(actionId)}/wait`, {
        query: { timeout: String(Math.round(step * 1000) / 1000) },
        timeout: step + 10,
        signal: options.signal,
      });
      if (!WAITING.includes(action.status)) return finished(action);
      if (performance.now() >= deadline) throw new StillPending(action);
    }
  }

  /** Record what happened when the approved action ran; reporting the same outcome twice is harmless. */
  async report(actionId: string, options: ReportOptions = {}): Promise<Action> {
    const body: ResultIn = {
      status: options.succeeded === false ? "failed" : "succeeded",
      output: options.output ?? null,
      error: options.error ?? "",
    };
    return this.call<Action>("POST", `/actions/${encodeURIComponent(actionId)}/result`, { body, signal: options.signal });
  }

  /** Withdraw a pending action. */
  async cancel(actionId: string, options: CallOptions = {}): Promise<Action> {
    try {
      return await this.call<Action>("POST", `/actions/${encodeURIComponent(actionId)}/cancel`, options);
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      // A retried cancel whose first attempt went through meets its own cancellation.
      const action = await this.get(actionId, options);
      if (action.status === "cancelled") return action;
      throw error;
    }
  }

  /** After an approval with changes, for a framework that can only run its model's arguments: the
   * model's next call with exactly `final_params` is approved without a second review. */
  async repeat(actionId: string, options: CallOptions = {}): Promise<Action> {
    return this.call<Action>("POST", `/actions/${encodeURIComponent(actionId)}/repeat`, options);
  }

  /** Forward the end user's "This is wrong" (kind "wrong") or "Get a human" (kind "human"). */
  async escalate(
    kind: EscalationIn["kind"],
    message: string,
    options: CallOptions & { sessionId?: string; actionId?: string } = {},
  ): Promise<Escalation> {
    const body: Record<string, unknown> = { kind, message };
    const sessionId = options.sessionId ?? this.sessionId;
    if (sessionId) body.session_id = sessionId;
    if (options.actionId) body.action_id = options.actionId;
    return this.call<Escalation>("POST", "/escalations", { body, signal: options.signal });
  }

  async actionTypes(options: CallOptions = {}): Promise<ActionType[]> {
    return this.call<ActionType[]>("GET", "/action-types", options);
  }

  /** Check the approved action's receipt against its own final parameters (needs `receiptSecret`). */
  async verify(action: Action): Promise<void> {
    await verifyReceipt(action.receipt, this.receiptSecret, {
      actionId: action.id,
      action: action.action,
      params: action.final_params,
      used: this.usedReceipts,
    });
  }

  private delay(attempt: number, response: Response | null): number {
    const retryAfter = response?.headers.get("Retry-After");
    if (retryAfter && /^\d+$/.test(retryAfter)) return Math.min(Number(retryAfter), 30) * 1000;
    return this.backoff * 2 ** attempt * (0.5 + Math.random() / 2) * 1000;
  }

  private async call<T>(method: string, path: string, init: RequestInit2 = {}): Promise<T> {
    let url = this.baseUrl + path;
    if (init.query) url += "?" + new URLSearchParams(init.query).toString();
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.token}`,
      "User-Agent": "hitl-client-ts/0.1",
      Accept: "application/json",
      ...init.headers,
    };
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    for (let attempt = 0; ; attempt++) {
      init.signal?.throwIfAborted();
      let response: Response | null = null;
      let error: ApiError;
      let transient: boolean;
      const timeout = AbortSignal.timeout(Math.ceil((init.timeout ?? this.timeout) * 1000));
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      try {
        response = await this.fetch(url, { method, headers, body, signal });
        const text = await response.text();
        if (response.ok) return JSON.parse(text) as T;
        let decoded: unknown;
        try {
          decoded = JSON.parse(text);
        } catch {
          decoded = { error: { code: "http_error", message: text.slice(0, 500) } };
        }
        error = errorFor(response.status, decoded);
        transient =
          response.status >= 500 ||
          response.status === 429 ||
          (response.status === 409 && error.code === "idempotency_key_in_flight");
        if (response.status >= 500) {
          error = new ServerUnavailable(`Countersign answered ${response.status}: ${error.apiMessage}`, response.status);
        }
      } catch (thrown) {
        // The caller's own abort is not a transport error: stop at once, with its reason.
        if (init.signal?.aborted) throw init.signal.reason;
        const what = timeout.aborted ? `no answer within ${init.timeout ?? this.timeout} s` : String(thrown);
        error = new ServerUnavailable(`Countersign could not be reached: ${what}`);
        transient = true;
      }
      if (!transient || attempt >= this.retries) throw error;
      await sleep(this.delay(attempt, response), init.signal);
    }
  }
}
