// Vercel AI SDK: a tool whose every call Countersign decides.
//
//     import { gateTool } from "hitl-client/ai-sdk";
//     const tools = { refund: gateTool(countersign, "payments.refund", tool({ inputSchema, execute })) };
//     await generateText({ model, tools, prompt, stopWhen: stepCountIs(5) });
//
// The wrapped `execute` proposes the call (keyed by the SDK's toolCallId, so a retried step finds the same
// action), waits for the decision and runs the tool with the final arguments — the reviewer's where they
// edited — then reports the outcome in the background. A rejection, and anything that keeps Countersign
// from deciding (down, hung, 401, 422, no decision in time, an error here), is thrown as `NotApproved`,
// which the SDK hands to the model as the tool's error with the reason; the tool does not run. When a
// reviewer edited the call, the model's copy of the result says so (`toModelOutput`), while your code
// still gets the tool's own output.
//
// For tools that keep the SDK's own `needsApproval` (an approval UI of yours, say), `runWithApprovals`
// answers each `tool-approval-request` from Countersign instead. The SDK's approval answer
// (`tool-approval-response`: approvalId, approved, reason) carries no edited input, so there an edit is
// answered as a denial whose reason gives the reviewer's arguments, and Countersign lets the model's repeated
// call with exactly those through once (`Client.repeat`; an irreversible type is reviewed again). The
// wrapper has no such detour: prefer it.
import type { GenerateTextResult, ModelMessage, Tool, ToolExecutionOptions } from "ai";
import type { Client } from "./client.js";
import { NotApproved } from "./gate.js";
import {
  decide,
  editedCallMessage,
  editedNote,
  reportInBackground,
  runAndReport,
  type Decision,
  type GateOptions,
} from "./review.js";

type ModelOutput = { type: "text"; value: string } | { type: "json"; value: unknown };

// What the model must hear about edited calls, by toolCallId, until the SDK asks for the model's copy of
// the result. Bounded: an entry the SDK never asks for (a run that stopped) must not pile up for good.
const notes = new Map<string, string>();
const MAX_NOTES = 10_000;

function remember(toolCallId: string, note: string) {
  if (notes.size >= MAX_NOTES) notes.delete(notes.keys().next().value!);
  notes.set(toolCallId, note);
}

function asModelOutput(output: unknown): ModelOutput {
  return typeof output === "string" ? { type: "text", value: output } : { type: "json", value: output ?? null };
}

/** `tool` with its calls decided by Countersign as the `action` type (default: the same name). */
export function gateTool<INPUT extends Record<string, unknown>, OUTPUT>(
  client: Client,
  action: string,
  tool: Tool<INPUT, OUTPUT>,
  options: GateOptions = {},
): Tool<INPUT, OUTPUT> {
  const execute = tool.execute;
  if (!execute) throw new TypeError(`gateTool(${action}): the tool has no execute function to gate.`);
  const original = tool.toModelOutput as ((o: { toolCallId: string; input: INPUT; output: OUTPUT }) => unknown) | undefined;
  return {
    ...tool,
    execute: (async (input: INPUT, execution: ToolExecutionOptions) => {
      const decision = await decide(client, action, input, {
        ...options,
        actionNames: undefined,
        idempotencyKey: `ai-sdk:${execution.toolCallId}`,
        signal: options.signal ?? execution.abortSignal,
      });
      if (decision.verdict === "reject") throw new NotApproved(decision.message!, decision.action);
      if (decision.verdict === "edit") remember(execution.toolCallId, editedNote(action, input, decision.args!));
      return runAndReport(client, decision, (args) => execute(args as INPUT, execution) as Promise<OUTPUT>);
    }) as Tool<INPUT, OUTPUT>["execute"],
    toModelOutput: ((options: { toolCallId: string; input: INPUT; output: OUTPUT }) => {
      const own = original ? original(options) : asModelOutput(options.output);
      const note = notes.get(options.toolCallId);
      if (note === undefined) return own;
      return { type: "json", value: { reviewer: note, result: (own as ModelOutput).value ?? null } };
    }) as Tool<INPUT, OUTPUT>["toModelOutput"],
  } as Tool<INPUT, OUTPUT>;
}

/** Every tool of a tool set gated, each as the action type `actionNames[name]` (default: its name). */
export function gateTools<TOOLS extends Record<string, Tool<any, any>>>(
  client: Client,
  tools: TOOLS,
  options: GateOptions = {},
): TOOLS {
  return Object.fromEntries(
    Object.entries(tools).map(([name, tool]) => [name, gateTool(client, options.actionNames?.[name] ?? name, tool, options)]),
  ) as TOOLS;
}

type Result = GenerateTextResult<any, any>;

/** Report the outcome of each approved call found in these messages (the SDK runs approved tools when it
 * is called again, and puts their results in its response messages). */
function reportResults(client: Client, messages: ModelMessage[], approved: Map<string, Decision>) {
  for (const message of messages) {
    if (message.role !== "tool") continue;
    for (const part of message.content) {
      if (part.type !== "tool-result") continue;
      const decision = approved.get(part.toolCallId);
      if (!decision?.action) continue;
      approved.delete(part.toolCallId);
      const output = part.output as { type: string; value?: unknown };
      const failed = output.type === "error-text" || output.type === "error-json";
      void reportInBackground(
        client,
        decision.action.id,
        failed ? { succeeded: false, error: JSON.stringify(output.value) } : { succeeded: true, output: { [output.type]: output.value ?? null } },
      );
    }
  }
}

/** Call `generate(messages)` (your `generateText` call), answer every `tool-approval-request` it returns
 * from Countersign, and call it again with the answers, until no approval is pending. Returns the last
 * result and the whole conversation. */
export async function runWithApprovals(
  client: Client,
  generate: (messages: ModelMessage[]) => PromiseLike<Result>,
  messages: ModelMessage[],
  options: GateOptions = {},
): Promise<{ result: Result; messages: ModelMessage[] }> {
  const history = [...messages];
  const approved = new Map<string, Decision>();
  for (;;) {
    const result = await generate(history);
    history.push(...result.response.messages);
    reportResults(client, result.response.messages, approved);
    const requests = result.content.filter((part) => part.type === "tool-approval-request");
    if (!requests.length) return { result, messages: history };
    const answers = [];
    // Every request of the step is proposed at once, so that a reviewer sees them together.
    const decisions = await Promise.all(
      requests.map(({ toolCall }) =>
        decide(client, toolCall.toolName, toolCall.input as Record<string, unknown>, { ...options, idempotencyKey: `ai-sdk:${toolCall.toolCallId}` }),
      ),
    );
    for (const [index, request] of requests.entries()) {
      const call = request.toolCall;
      const decision = decisions[index];
      let reason = decision.message ?? undefined;
      if (decision.verdict === "approve") approved.set(call.toolCallId, decision);
      if (decision.verdict === "edit") {
        // Refused (409: an irreversible type) or unreachable: the repeated call is reviewed again.
        const repeatAllowed = await client.repeat(decision.action!.id).then(
          () => true,
          () => false,
        );
        reason = editedCallMessage(call.toolName, decision.args, repeatAllowed);
      }
      answers.push({ type: "tool-approval-response" as const, approvalId: request.approvalId, approved: decision.verdict === "approve", reason });
    }
    history.push({ role: "tool", content: answers });
  }
}
