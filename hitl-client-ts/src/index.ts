// Countersign's agent-side client for TypeScript: propose a tool call, wait for the decision, report the
// outcome. The framework adapters are separate entry points (hitl-client/ai-sdk, /openai-agents,
// /langgraph, /mastra), so importing the client loads no framework.
export { Client, MAX_POLL_SECONDS, WAITING } from "./client.js";
export type { CallOptions, ClientOptions, ProposalFields, ProposeOptions, ReportOptions, WaitOptions } from "./client.js";
export {
  ActionEnded,
  ApiError,
  CallbackInvalid,
  Cancelled,
  Conflict,
  Expired,
  Forbidden,
  InvalidParams,
  NotFound,
  ReceiptInvalid,
  Rejected,
  ServerUnavailable,
  StillPending,
  Unauthorized,
  errorFor,
} from "./errors.js";
export type { ErrorDetail } from "./errors.js";
export { UsedReceipts, canonicalJson, signature as receiptSignature, verifyReceipt } from "./receipts.js";
export type { ReceiptLedger, VerifyReceiptOptions } from "./receipts.js";
export { TOLERANCE_SECONDS, signCallback, verifyCallback } from "./callbacks.js";
export type { VerifiedCallback } from "./callbacks.js";
export { NotApproved, Suggested, gate } from "./gate.js";
export { decide, editedNote, reportInBackground, settled } from "./review.js";
export type { Decision as GateDecision, GateOptions, Verdict } from "./review.js";
export type * from "./types.js";
