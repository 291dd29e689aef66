// The API's shapes, named: every one comes from the generated OpenAPI types (src/generated/api.ts).
import type { components } from "./generated/api.js";

type Schemas = components["schemas"];

export type Action = Schemas["ActionOut"];
export type Decision = Schemas["DecisionOut"];
export type Receipt = Schemas["ReceiptOut"];
export type Route = Schemas["RouteOut"];
export type ErrorBody = Schemas["ErrorBody"];
export type Proposal = Schemas["ProposalIn"];
export type ResultIn = Schemas["ResultIn"];
export type ActionType = Schemas["ActionTypeOut"];
export type EscalationIn = Schemas["UserEscalationIn"];
export type Escalation = Schemas["UserEscalationOut"];
export type { components, paths } from "./generated/api.js";
