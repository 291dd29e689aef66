// OpenAI Agents SDK for JavaScript: tools declared with `needsApproval` are resolved by Countersign.
//
//     import { run } from "hitl-client/openai-agents";
//     const result = await run(countersign, agent, "Refund order 981");
//
// Each interruption (a RunToolApprovalItem) becomes one proposal, keyed by the tool call's id (a second run
// after a crash finds the same action). Approved: `state.approve(item)`. Rejected, suggest-only, or
// Countersign unable to decide (down, hung, 401, 422, no decision in time, an error here): `state.reject`
// with the reason, which the model reads; the tool does not run. Approved with edits: the tool runs with
// the reviewer's arguments, and its result as the model reads it starts with a line saying what changed.
//
// The SDK has no way to approve a call with other arguments, so the adapter wraps the function tool's
// `invoke` (once per tool object, in place): for a call id it approved, the wrapper runs the tool with the
// final arguments, tells the model of an edit and reports the outcome in the background; any other call
// passes through untouched.
import { Runner, type Agent, type RunResult, type RunState, type RunToolApprovalItem } from "@openai/agents";
import type { Client } from "./client.js";
import { decide, editedNote, errorText, outputOf, reportInBackground, type Decision, type GateOptions } from "./review.js";

interface Approved {
  client: Client;
  decision: Decision;
  name: string;
  proposed: Record<string, unknown>;
}

// Approved calls by call id, until the SDK invokes them.
const approved = new Map<string, Approved>();
const SDK_TOOL_ERROR = "An error occurred while running the tool. Please try again.";
const WRAPPED = Symbol.for("countersign.openai-agents.wrapped");

type Invoke = (runContext: unknown, input: string, details?: { toolCall?: { callId?: string } }) => Promise<unknown>;
type FunctionToolLike = { type: string; name: string; invoke: Invoke; [WRAPPED]?: true };

function wrap(tool: FunctionToolLike) {
  if (tool[WRAPPED]) return;
  const invoke = tool.invoke.bind(tool);
  tool.invoke = async (runContext, input, details) => {
    const callId = details?.toolCall?.callId;
    const entry = callId === undefined ? undefined : approved.get(callId);
    if (!entry) return invoke(runContext, input, details);
    approved.delete(callId!);
    const { client, decision, name, proposed } = entry;
    const actionId = decision.action!.id;
    let output: unknown;
    try {
      output = await invoke(runContext, JSON.stringify(decision.args), details);
    } catch (error) {
      void reportInBackground(client, actionId, { succeeded: false, error: errorText(error) });
      throw error;
    }
    // The SDK turns a tool's exception into this fixed text for the model (unless the tool has an errorFunction
    // of its own), hiding the error itself: the outcome is still a failure.
    if (output === SDK_TOOL_ERROR) {
      void reportInBackground(client, actionId, { succeeded: false, error: `${SDK_TOOL_ERROR} (the SDK keeps the error itself from the adapter)` });
    } else {
      void reportInBackground(client, actionId, { succeeded: true, output: outputOf(output) });
    }
    if (decision.verdict !== "edit") return output;
    const note = editedNote(name, proposed, decision.args!);
    return typeof output === "string" ? `${note}\n${output}` : { reviewer: note, result: output };
  };
  tool[WRAPPED] = true;
}

function argumentsOf(item: RunToolApprovalItem): Record<string, unknown> {
  try {
    const parsed = JSON.parse(item.arguments ?? "{}");
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : { arguments: parsed };
  } catch {
    return { arguments: item.arguments };
  }
}

/** The run's state with every pending tool approval decided by Countersign. */
export async function decideInterruptions(client: Client, result: RunResult<any, any>, options: GateOptions = {}): Promise<RunState<any, any>> {
  const state = result.state;
  const items = result.interruptions ?? [];
  // Every call of the turn is proposed at once, so that a reviewer sees them together.
  const decisions = await Promise.all(
    items.map((item) =>
      decide(client, item.name ?? item.toolName ?? "unknown", argumentsOf(item), {
        ...options,
        idempotencyKey: `openai-agents:${(item.rawItem as { callId?: string }).callId ?? ""}`,
      }),
    ),
  );
  for (const [index, item] of items.entries()) {
    const name = item.name ?? item.toolName ?? "unknown";
    const callId = (item.rawItem as { callId?: string }).callId ?? "";
    const proposed = argumentsOf(item);
    const decision = decisions[index];
    if (decision.verdict === "reject") {
      state.reject(item, { message: decision.message! });
      continue;
    }
    const tool = (item.agent.tools as unknown as FunctionToolLike[]).find((t) => t.type === "function" && t.name === item.name);
    if (!tool) {
      // Not a function tool (hosted, shell…): it cannot run with other arguments, nor be watched for its outcome.
      if (decision.verdict === "edit") {
        state.reject(item, { message: `A reviewer approved ${name} only with changes this tool cannot take: ${JSON.stringify(decision.args)}` });
      } else {
        state.approve(item);
      }
      continue;
    }
    wrap(tool);
    approved.set(callId, { client, decision, name: options.actionNames?.[name] ?? name, proposed });
    state.approve(item);
  }
  return state;
}

/** `run(agent, input)`, resumed through Countersign until no tool approval is pending. `runner`: your own
 * Runner (default: a new one); `maxTurns`, `context`: passed on to each run. */
export async function run(
  client: Client,
  agent: Agent<any, any>,
  input: Parameters<Runner["run"]>[1],
  options: GateOptions & { runner?: Runner; maxTurns?: number; context?: unknown } = {},
): Promise<RunResult<any, any>> {
  const { runner = new Runner(), maxTurns, context, ...gate } = options;
  const runOptions = { maxTurns, context } as Record<string, unknown>;
  let result = (await runner.run(agent, input as string, runOptions)) as RunResult<any, any>;
  while (result.interruptions?.length) {
    const state = await decideInterruptions(client, result, gate);
    result = (await runner.run(agent, state, runOptions)) as RunResult<any, any>;
  }
  return result;
}
