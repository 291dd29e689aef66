// What every adapter shares: propose a tool call, turn whatever happens next into a Decision that never
// lets an undecided call run (fail closed), tell the model what a reviewer changed, and report the
// outcome in the background.
import { ActionEnded, ApiError, StillPending } from "./errors.js";
import type { Client, ProposalFields } from "./client.js";
import type { Action } from "./types.js";

export type Verdict = "approve" | "edit" | "reject";

/** Countersign's answer to one tool call, as an adapter hands it to a framework. `args`: the arguments to
 * run when approved (the reviewer's where edited); `message`: why not, when rejected; `action`: the action
 * when one was created (to report its outcome). */
export interface Decision {
  verdict: Verdict;
  args: Record<string, unknown> | null;
  message: string | null;
  action: Action | null;
}

export interface GateOptions extends ProposalFields {
  /** Tool name → action type key; default: the tool's own name. */
  actionNames?: Record<string, string>;
  /** Seconds to wait for a person before the call is refused. Default 3600. */
  waitTimeout?: number;
  /** Check the approval receipt before running (default: whenever the client has a receipt secret). */
  verify?: boolean;
  signal?: AbortSignal;
  /** Told of every decision, with the tool's name: for your logs (and the tests). */
  onDecision?: (decision: Decision, name: string) => void;
}

/** What the model reads when Countersign could not approve a call: it did not run, and why. */
export function refusal(error: unknown): string {
  if (error instanceof ActionEnded && !(error instanceof StillPending)) return error.message;
  if (error instanceof StillPending) {
    return `No decision on ${error.action.action} before the wait ran out, so it did not run; the request was withdrawn.`;
  }
  const why = error instanceof ApiError ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `Countersign could not approve this call, so it did not run: ${why}`;
}

/** The keys whose values the reviewer changed, each as "key: old → new". */
export function changes(proposed: Record<string, unknown>, final: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(proposed), ...Object.keys(final)])];
  return keys
    .filter((key) => JSON.stringify(proposed[key]) !== JSON.stringify(final[key]))
    .map((key) => `${key}: ${JSON.stringify(proposed[key]) ?? "(none)"} → ${JSON.stringify(final[key]) ?? "(removed)"}`);
}

/** What the model hears when a reviewer changed its call and the call ran with the reviewer's arguments. */
export function editedNote(name: string, proposed: Record<string, unknown>, final: Record<string, unknown>): string {
  return `A reviewer changed your call to ${name} before it ran (${changes(proposed, final).join("; ")}); it ran with the reviewer's arguments.`;
}

/** What the model hears when a reviewer changed a call its framework cannot run with other arguments. */
export function editedCallMessage(name: string, args: unknown, repeatAllowed: boolean): string {
  const message = `A reviewer approved ${name} only with changes; call it again with exactly these arguments: ${JSON.stringify(args)}`;
  return repeatAllowed ? `${message} (that call is approved without another review)` : message;
}

function sameParams(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameParams(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => sameParams((a as never)[k], (b as never)[k]));
  }
  return a === b;
}

/** Propose one tool call and read Countersign's decision. Never throws: anything that goes wrong (down,
 * hung, 401, 422, a wait that runs out, an error here) is a rejection whose message says why. */
export async function decide(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  options: GateOptions & { idempotencyKey?: string } = {},
): Promise<Decision> {
  const { onDecision, ...rest } = options;
  const decision = await decideOnce(client, name, args, rest);
  onDecision?.(decision, name);
  return decision;
}

async function decideOnce(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  options: GateOptions & { idempotencyKey?: string },
): Promise<Decision> {
  const { actionNames, waitTimeout, verify, signal, idempotencyKey, onDecision: _, ...fields } = options;
  let action: Action | null = null;
  try {
    action = await client.propose(actionNames?.[name] ?? name, args, { ...fields, idempotencyKey, signal });
    if (action.status === "suggested") {
      return { verdict: "reject", args: null, action, message: `Suggest only: recorded for a person to run (${action.review_url}); it did not run.` };
    }
    if (action.status === "pending") action = await client.wait(action.id, { timeout: waitTimeout ?? 3600, signal });
    if (action.status !== "approved") {
      return { verdict: "reject", args: null, action, message: `${action.action} is ${action.status}, not approved; it did not run.` };
    }
    if (verify ?? Boolean(client.receiptSecret)) await client.verify(action);
    const final = (action.final_params ?? action.params) as Record<string, unknown>;
    const edited = !sameParams(final, action.params);
    return { verdict: edited ? "edit" : "approve", args: final, message: null, action };
  } catch (error) {
    if (signal?.aborted) throw error; // the caller stopped the run: that is theirs to handle
    if (error instanceof StillPending) {
      // The run goes on without this call: withdraw the card, so that nobody approves what will never run.
      await client.cancel(error.action.id).catch(() => undefined);
    }
    return { verdict: "reject", args: null, action: error instanceof StillPending ? error.action : action, message: refusal(error) };
  }
}

/** Outcome reports still on their way, per client: `settled(client)` awaits them (before a script exits). */
const inFlight = new WeakMap<Client, Set<Promise<void>>>();

/** Report the outcome of an approved action without blocking the run: retried in the background (on top of
 * the client's own retries) a few times; a report that still cannot be delivered is logged, never thrown. */
export function reportInBackground(
  client: Client,
  actionId: string,
  outcome: { succeeded: boolean; output?: Record<string, unknown> | null; error?: string },
  attempts = 5,
): Promise<void> {
  const pending = inFlight.get(client) ?? new Set();
  inFlight.set(client, pending);
  const task = (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.report(actionId, outcome);
        return;
      } catch (error) {
        if (attempt >= attempts) {
          console.warn(`Countersign: the outcome of action ${actionId} could not be reported: ${String(error)}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
      }
    }
  })();
  pending.add(task);
  void task.finally(() => pending.delete(task));
  return task;
}

/** Every background report of this client, delivered or given up. */
export async function settled(client: Client): Promise<void> {
  while (inFlight.get(client)?.size) await Promise.all([...inFlight.get(client)!]);
}

/** The tool's return value as the JSON object an outcome report carries. */
export function outputOf(result: unknown): Record<string, unknown> {
  const output = result !== null && typeof result === "object" && !Array.isArray(result) ? (result as Record<string, unknown>) : { result };
  try {
    JSON.stringify(output);
    return output;
  } catch {
    return { result: String(result) };
  }
}

export function errorText(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 20_000);
}

/** Run an approved call and report what happened, in the background; the tool's own error is re-thrown. */
export async function runAndReport<T>(client: Client, decision: Decision, run: (args: Record<string, unknown>) => Promise<T> | T): Promise<T> {
  let result: T;
  try {
    result = await run(decision.args!);
  } catch (error) {
    if (decision.action) void reportInBackground(client, decision.action.id, { succeeded: false, error: errorText(error) });
    throw error;
  }
  if (decision.action) void reportInBackground(client, decision.action.id, { succeeded: true, output: outputOf(result) });
  return result;
}
