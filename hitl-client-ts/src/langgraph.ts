// LangGraph.js: a graph's human-in-the-loop interrupts proposed to Countersign, and the graph resumed with
// the decisions.
//
//     import { run } from "hitl-client/langgraph";
//     const result = await run(countersign, graph, { messages: [...] }, { configurable: { thread_id: "1" } });
//
// Understands LangChain.js's `humanInTheLoopMiddleware` payload (`{actionRequests, reviewConfigs}`, resumed
// with `{decisions: [{type: "approve"} | {type: "edit", editedAction} | {type: "reject", message}]}`) and
// its Python twin's snake_case (`action_requests`, `review_configs`, `edited_action`). A node that calls
// `interrupt({...})` with a payload of its own is mapped with `mappings`: a `Mapping` says which tool calls
// the payload asks about and builds the resume value from one Decision per call. `generic` is ready-made
// for payloads naming one call — `{action | tool | name, args | arguments | params}` or
// `{tool_call: {name, args}}` — resumed with `{type, approved, args, message}`.
//
// Fails closed: a rejection, a suggest-only type and anything that keeps Countersign from deciding
// (down, hung, 401, 422, no decision in time, an error here) resume the graph with a rejection whose
// message says why. Proposals are keyed by the interrupt's id, so a second run after a crash finds the same
// actions. Outcomes: when the resumed invoke returns, each approved call of that step is reported
// succeeded; when it throws, failed with the error (the graph gives an adapter no hook after one tool).
import { Command } from "@langchain/langgraph";
import type { Client } from "./client.js";
import { decide, editedNote, errorText, reportInBackground, type Decision, type GateOptions } from "./review.js";

export type Call = [name: string, args: Record<string, unknown>];

/** One kind of interrupt payload: `calls(value)` → the tool calls it asks about, or null when the payload is
 * not of this kind; `resume(value, decisions)` → the value to resume the node with. */
export interface Mapping {
  calls(value: unknown): Call[] | null;
  resume(value: unknown, decisions: Decision[]): unknown;
}

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

function middlewareDecision(name: string, decision: Decision, allowed: string[], camel: boolean): Obj {
  if (decision.verdict === "approve") return { type: "approve" };
  if (decision.verdict === "edit" && allowed.includes("edit")) {
    return { type: "edit", [camel ? "editedAction" : "edited_action"]: { name, args: decision.args } };
  }
  const message =
    decision.verdict === "edit"
      ? `A reviewer approved ${name} only with changes this tool does not accept: ${JSON.stringify(decision.args)}`
      : decision.message;
  // The middleware runs an edit as the reviewer's call; the model learns of it from the edited call in its history.
  return { type: "reject", message };
}

function middleware(camel: boolean): Mapping {
  const [requests, configs, actionName, allowedKey] = camel
    ? ["actionRequests", "reviewConfigs", "actionName", "allowedDecisions"]
    : ["action_requests", "review_configs", "action_name", "allowed_decisions"];
  return {
    calls: (v) => (isObj(v) && Array.isArray(v[requests]) ? v[requests].map((r: Obj) => [r.name, r.args ?? {}] as Call) : null),
    resume: (v, decisions) => {
      const allowed = new Map<string, string[]>(((v as Obj)[configs] ?? []).map((c: Obj) => [c[actionName], c[allowedKey] ?? []]));
      return {
        decisions: (v as Obj)[requests].map((r: Obj, i: number) =>
          middlewareDecision(r.name, decisions[i], allowed.get(r.name) ?? ["approve", "edit", "reject"], camel),
        ),
      };
    },
  };
}

export const BUILT_IN: Mapping[] = [middleware(true), middleware(false)];

function first(value: Obj, keys: string[], kind: "string" | "object"): any {
  for (const key of keys) {
    if (kind === "string" ? typeof value[key] === "string" : isObj(value[key])) return value[key];
  }
  return undefined;
}

export const generic: Mapping = {
  calls(value) {
    if (!isObj(value)) return null;
    if (isObj(value.tool_call) && typeof value.tool_call.name === "string") return [[value.tool_call.name, value.tool_call.args ?? {}]];
    const name = first(value, ["action", "tool", "name"], "string");
    const args = first(value, ["args", "arguments", "params"], "object");
    return name !== undefined && args !== undefined ? [[name, args]] : null;
  },
  resume: (_value, [decision]) => ({
    type: decision.verdict,
    approved: decision.verdict !== "reject",
    args: decision.args,
    message: decision.message,
    // What to tell the model when a reviewer changed the call.
    note: decision.verdict === "edit" ? editedNote(decision.action!.action, decision.action!.params, decision.args!) : null,
  }),
};

function mappingFor(value: unknown, mappings: Mapping[]): [Mapping, Call[]] {
  for (const mapping of [...mappings, ...BUILT_IN]) {
    const calls = mapping.calls(value);
    if (calls) return [mapping, calls];
  }
  throw new TypeError(
    `Not a human-in-the-loop interrupt this adapter knows: ${JSON.stringify(value)?.slice(0, 300)}. Map your own payload ` +
      `with mappings: [{calls, resume}], or mappings: [generic] if it names one call as {action, args} or {tool_call}.`,
  );
}

export interface Interrupt {
  id?: string;
  value?: unknown;
}

export interface LangGraphOptions extends GateOptions {
  /** Tried before the built-in shapes. */
  mappings?: Mapping[];
}

/** A resume value per interrupt id, and the decisions taken (to report their outcomes). */
export async function decideAll(
  client: Client,
  interrupts: Interrupt[],
  options: LangGraphOptions = {},
): Promise<{ resume: Record<string, unknown>; decisions: Decision[] }> {
  const { mappings = [], ...gate } = options;
  const resume: Record<string, unknown> = {};
  const all: Decision[] = [];
  // An interrupt no mapping reads throws before anything is proposed: it is left unanswered (the graph
  // stays paused), never approved.
  const known = interrupts.map((interrupt, index) => ({ key: interrupt.id ?? String(index), interrupt, found: mappingFor(interrupt.value, mappings) }));
  // Every call is proposed at once, so that a reviewer sees them together (one batch in the inbox).
  const decided = await Promise.all(
    known.map(({ key, found: [, calls] }) =>
      Promise.all(calls.map(([name, args], i) => decide(client, name, args, { ...gate, idempotencyKey: `langgraph:${key}:${i}` }))),
    ),
  );
  for (const [n, { key, interrupt, found: [mapping] }] of known.entries()) {
    all.push(...decided[n]);
    resume[key] = mapping.resume(interrupt.value, decided[n]);
  }
  return { resume, decisions: all };
}

/** The pending interrupts of an `invoke()` result. */
export function interruptsOf(result: unknown): Interrupt[] {
  return isObj(result) && Array.isArray(result.__interrupt__) ? result.__interrupt__ : [];
}

interface Invokable {
  invoke(input: unknown, config?: any): Promise<any>;
}

/** Invoke the graph, answering each human-in-the-loop interrupt through Countersign until it finishes. */
export async function run(client: Client, graph: Invokable, input: unknown, config: unknown, options: LangGraphOptions = {}): Promise<any> {
  let result = await graph.invoke(input, config);
  for (let pending = interruptsOf(result); pending.length; pending = interruptsOf(result)) {
    const { resume, decisions } = await decideAll(client, pending, options);
    const approved = decisions.filter((d) => d.verdict !== "reject" && d.action);
    // One interrupt: its resume value as is; several: a map by interrupt id, as LangGraph takes them.
    const value = pending.length === 1 ? Object.values(resume)[0] : resume;
    try {
      result = await graph.invoke(new Command({ resume: value }), config);
    } catch (error) {
      for (const d of approved) void reportInBackground(client, d.action!.id, { succeeded: false, error: errorText(error) });
      throw error;
    }
    for (const d of approved) void reportInBackground(client, d.action!.id, { succeeded: true, output: { resumed: true } });
  }
  return result;
}
