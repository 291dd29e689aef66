// What can go wrong when an agent asks Countersign: one error class per thing an agent can act on,
// as the Python client's hitl_client/errors.py.
import type { Action } from "./types.js";

export interface ErrorDetail {
  path?: string;
  message?: string;
  [key: string]: unknown;
}

/** Countersign answered with an error: `status`, `code`, `message` and `details`. */
export class ApiError extends Error {
  readonly status: number | null;
  readonly code: string;
  readonly details: ErrorDetail[];
  constructor(status: number | null, code: string, message: string, details?: ErrorDetail[] | null) {
    // Without a status (nothing answered), the message alone: "null server_unavailable: …" says nothing.
    super(status === null ? message : `${status} ${code}: ${message}`);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details ?? [];
    this.apiMessage = message;
  }
  /** The server's own message, without the status and code. */
  readonly apiMessage: string;
}

/** 401: no token, a wrong one, or a revoked one. */
export class Unauthorized extends ApiError {}
/** 403: the agent or this action type is paused with "block"; the message says why. */
export class Forbidden extends ApiError {}
/** 404: no such action for this agent. */
export class NotFound extends ApiError {}
/** 409: the action is not in a state that allows this (for example reporting on a pending one). */
export class Conflict extends ApiError {}
/** 422 params_invalid: `errors` lists every schema error ({path, message}), for a repair loop. */
export class InvalidParams extends ApiError {
  get errors(): ErrorDetail[] {
    return this.details;
  }
}
/** Countersign could not be reached, or kept answering 5xx, through every retry. */
export class ServerUnavailable extends ApiError {
  constructor(message: string, status: number | null = null) {
    super(status, "server_unavailable", message);
  }
}

/** The action ended without an approval; `action` is its last state as the API returned it. */
export class ActionEnded extends Error {
  readonly action: Action;
  constructor(action: Action, message: string) {
    super(message);
    this.name = new.target.name;
    this.action = action;
  }
}

/** A person rejected the action; `reason` is what they wrote. */
export class Rejected extends ActionEnded {
  readonly reason: string;
  constructor(action: Action) {
    const decision = action.decision ?? null;
    const reason = decision?.reason ?? "";
    const by = decision?.by || "a reviewer";
    super(action, `${action.action} rejected by ${by}: ${reason || "no reason given"}`);
    this.reason = reason;
  }
}

/** Nobody decided before the action's SLA ran out; the timeout fallback rejected it. */
export class Expired extends ActionEnded {
  constructor(action: Action) {
    super(action, `${action.action} expired without a decision`);
  }
}

/** The action was withdrawn before anyone decided. */
export class Cancelled extends ActionEnded {
  constructor(action: Action) {
    super(action, `${action.action} was cancelled`);
  }
}

/** `wait()` reached its deadline and the action is still waiting for a person. */
export class StillPending extends ActionEnded {
  constructor(action: Action) {
    super(action, `${action.action} is still ${action.status} at the deadline`);
  }
}

/** An approval receipt does not prove that exactly these parameters were approved, or is spent. */
export class ReceiptInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReceiptInvalid";
  }
}

/** A decision callback's signature or timestamp does not check out: do not act on it. */
export class CallbackInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CallbackInvalid";
  }
}

const BY_STATUS: Record<number, typeof ApiError> = { 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict };

export const ENDED_BY_STATUS: Record<string, new (action: Action) => ActionEnded> = {
  rejected: Rejected,
  expired: Expired,
  cancelled: Cancelled,
};

/** The typed error for an error answer ({"error": {"code", "message", "details"}}). */
export function errorFor(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (!error || typeof error !== "object") {
    return new (BY_STATUS[status] ?? ApiError)(status, "http_error", String(JSON.stringify(body)).slice(0, 500));
  }
  const code = typeof error.code === "string" ? error.code : "";
  const message = typeof error.message === "string" ? error.message : "";
  const details = Array.isArray(error.details) ? (error.details as ErrorDetail[]) : [];
  if (status === 422 && code === "params_invalid") return new InvalidParams(status, code, message, details);
  return new (BY_STATUS[status] ?? ApiError)(status, code, message, details);
}
