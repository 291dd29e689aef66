// The README's examples, type-checked by `npm test` (tsconfig.examples.json) against the package's own
// declarations and the frameworks' real ones, so that what the README shows compiles.
import { generateText, stepCountIs, tool, type LanguageModel } from "ai";
import { Agent as OpenAIAgent, tool as openaiTool } from "@openai/agents";
import { Agent as MastraAgent } from "@mastra/core/agent";
import { createTool } from "@mastra/core/tools";
import { Annotation, END, MemorySaver, START, StateGraph, interrupt } from "@langchain/langgraph";
import { z } from "zod";
import { Client, Rejected, StillPending, verifyCallback } from "hitl-client";
import { gateTool, runWithApprovals } from "hitl-client/ai-sdk";
import { run as runAgent } from "hitl-client/openai-agents";
import { generic, run as runGraph } from "hitl-client/langgraph";
import { gateTool as gateMastraTool } from "hitl-client/mastra";

declare const model: LanguageModel;
declare const mastraModel: ConstructorParameters<typeof MastraAgent>[0]["model"];
declare function refundCustomer(input: { customer: string; amount: number; currency: string }): Promise<{ id: string }>;

const countersign = new Client("http://127.0.0.1:8000", process.env.COUNTERSIGN_TOKEN!, {
  receiptSecret: process.env.COUNTERSIGN_RECEIPT_SECRET,
});

export async function plain() {
  let action = await countersign.propose("payments.refund", { customer: "cus_123", amount: 750, currency: "USD" }, {
    session_id: "run-42",
    rationale: "Double charge on order 981",
  });
  try {
    action = await countersign.wait(action.id, { timeout: 3600 });
    await countersign.verify(action);
    const refund = await refundCustomer(action.final_params as { customer: string; amount: number; currency: string });
    await countersign.report(action.id, { succeeded: true, output: { refund: refund.id } });
  } catch (error) {
    if (error instanceof Rejected) console.log("No:", error.reason);
    else if (error instanceof StillPending) console.log("Nobody decided yet:", error.action.review_url);
    else throw error;
  }
  const { webhookId, action: decided } = verifyCallback("{}", { "webhook-id": "x" }, "whsec_AAAA");
  return [webhookId, decided.status];
}

const refundInput = z.object({ customer: z.string(), amount: z.number(), currency: z.string() });

export async function aiSdk() {
  const refundTool = tool({ description: "Refund a customer", inputSchema: refundInput, execute: async (input) => refundCustomer(input) });
  const refund = gateTool(countersign, "payments.refund", refundTool, { session_id: "run-42" });
  const { text } = await generateText({ model, tools: { refund }, prompt: "Refund order 981", stopWhen: stepCountIs(5) });
  const { result } = await runWithApprovals(
    countersign,
    (messages) => generateText({ model, tools: { refund: tool({ ...refundTool, needsApproval: true }) }, messages }),
    [{ role: "user", content: "Refund order 981" }],
    { actionNames: { refund: "payments.refund" } },
  );
  return [text, result.text];
}

export async function openaiAgents() {
  const refund = openaiTool({
    name: "refund",
    description: "Refund a customer",
    parameters: refundInput,
    needsApproval: true,
    execute: async (input) => refundCustomer(input),
  });
  const agent = new OpenAIAgent({ name: "billing", instructions: "Refund what is owed.", tools: [refund] });
  const result = await runAgent(countersign, agent, "Refund order 981", { actionNames: { refund: "payments.refund" } });
  return result.finalOutput;
}

export async function langGraph() {
  const State = Annotation.Root({ done: Annotation<string>() });
  const graph = new StateGraph(State)
    .addNode("refund", () => {
      const answer = interrupt({ action: "payments.refund", args: { customer: "cus_123", amount: 750, currency: "USD" } });
      return { done: answer.approved ? "refunded" : answer.message };
    })
    .addEdge(START, "refund")
    .addEdge("refund", END)
    .compile({ checkpointer: new MemorySaver() });
  const state = await runGraph(countersign, graph, {}, { configurable: { thread_id: "t-1" } }, { mappings: [generic] });
  return state.done;
}

export async function mastra() {
  const refund = gateMastraTool(
    countersign,
    "payments.refund",
    createTool({ id: "refund", description: "Refund a customer", inputSchema: refundInput, execute: async ({ context }) => refundCustomer(context) }),
  );
  const agent = new MastraAgent({ name: "billing", instructions: "Refund what is owed.", model: mastraModel, tools: { refund } });
  return (await agent.generate("Refund order 981")).text;
}
