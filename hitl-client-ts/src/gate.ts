// `gate("email.send", sendEmail)`: ask Countersign before a function runs, then run it as approved —
// the Python client's @gate for functions that take one object of named arguments.

import { Client } from "./client.js";
import { decide, runAndReport, type GateOptions } from "./review.js";

/** A suggest-level action type: recorded for a person to execute or dismiss; the agent must not run it. */
export class Suggested {
  constructor(readonly action: import("./types.js").Action) {}
  get reviewUrl(): string {
    return this.action.review_url;
  }
}

/** Thrown when a gated call may not run: a rejection, or Countersign unable to decide (its message says
 * which); `cause` holds the underlying error, where there was one. */
export class NotApproved extends Error {
  constructor(message: string, readonly action: import("./types.js").Action | null) {
    super(message);
    this.name = "NotApproved";
  }
}

/** Gate `fn` behind the `action` type: each call proposes its argument object, waits for the decision, runs
 * `fn` with the final (possibly edited) parameters and reports the outcome. A suggest-level type returns
 * `Suggested` without running; anything else that is not an approval throws `NotApproved`. */
export function gate<A extends Record<string, unknown>, R>(
  action: string,
  fn: (args: A) => Promise<R> | R,
  options: GateOptions & { client?: Client } = {},
): (args: A) => Promise<R | Suggested> {
  const { client, ...gateOptions } = options;
  let fromEnv: Client | undefined;
  return async (args: A) => {
    const connected = client ?? (fromEnv ??= Client.fromEnv());
    const decision = await decide(connected, action, args, { ...gateOptions, actionNames: { [action]: action } });
    if (decision.verdict === "reject") {
      if (decision.action?.status === "suggested") return new Suggested(decision.action);
      throw new NotApproved(decision.message!, decision.action);
    }
    return runAndReport(connected, decision, (final) => fn(final as A));
  };
}

