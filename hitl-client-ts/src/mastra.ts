// Mastra: a tool whose every call Countersign decides.
//
//     import { gateTool } from "hitl-client/mastra";
//     const refund = gateTool(countersign, "payments.refund", createTool({ id: "refund", inputSchema, execute }));
//     const agent = new Agent({ name, instructions, model, tools: { refund } });
//
// The wrapped `execute` proposes the call (keyed by the tool call's id), waits for the decision, runs the
// tool with the final arguments — the reviewer's where they edited — and reports the outcome in the
// background. A rejection, and anything that keeps Countersign from deciding (down, hung, 401, 422, no
// decision in time, an error here), throws `NotApproved` with the reason, which Mastra hands to the model
// as the tool's error; the tool does not run. An edited call's result, as the model reads it, is
// `{reviewer: "<what changed>", result: <the tool's output>}` — unless the tool declares an outputSchema,
// whose shape the wrapper leaves alone (the model then sees the edited call's output only).
//
// Why not Mastra's `requireApproval` / `agent.approveToolCall()`: they resume a run from a stored snapshot
// (a storage provider, a runId kept by the caller), carry no edited arguments, and declineToolCall takes no
// reason for the model; wrapping `execute` needs none of that and runs the reviewer's edit.
import { createTool } from "@mastra/core/tools";
import type { Client } from "./client.js";
import { NotApproved } from "./gate.js";
import { decide, editedNote, runAndReport, type GateOptions } from "./review.js";

type AnyTool = { id: string; execute?: (context: any, options?: any) => Promise<any>; outputSchema?: unknown };

/** `tool` with its calls decided by Countersign as the `action` type. */
export function gateTool<T extends AnyTool>(client: Client, action: string, tool: T, options: GateOptions = {}): T {
  const execute = tool.execute;
  if (!execute) throw new TypeError(`gateTool(${action}): the tool ${tool.id} has no execute function to gate.`);
  return createTool({
    ...(tool as any),
    execute: async (context: { context: Record<string, unknown> }, invocation?: { toolCallId?: string; abortSignal?: AbortSignal }) => {
      const proposed = context.context ?? {};
      const decision = await decide(client, action, proposed, {
        ...options,
        actionNames: undefined,
        idempotencyKey: invocation?.toolCallId ? `mastra:${invocation.toolCallId}` : undefined,
        signal: options.signal ?? invocation?.abortSignal,
      });
      if (decision.verdict === "reject") throw new NotApproved(decision.message!, decision.action);
      const output = await runAndReport(client, decision, (args) => execute({ ...context, context: args }, invocation));
      if (decision.verdict !== "edit" || tool.outputSchema) return output;
      return { reviewer: editedNote(action, proposed, decision.args!), result: output };
    },
  }) as unknown as T;
}
