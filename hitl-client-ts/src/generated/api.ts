// Generated from Countersign's /api/v1/openapi.json by scripts/generate-types.mjs: do not edit.
export interface paths {
    "/api/v1/actions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Propose
         * @description Propose a tool call. The answer says whether to run it now (`approved`), wait
         *     (`pending`), or not run it (`suggested`).
         *
         *     | status | code | when |
         *     | --- | --- | --- |
         *     | 201 | | created |
         *     | 200 | | replay: same `Idempotency-Key`, same body |
         *     | 400 | `malformed_json`, `bad_request` | not JSON; wrong or missing fields (every one in `details`) |
         *     | 400 | `number_out_of_range` | `NaN`, `Infinity`, past a double's range (`1e400`, `1e-400`), ints past ±(2⁵³−1) |
         *     | 400 | `duplicate_key` | one JSON object holds the same key twice |
         *     | 400 | `bad_encoding` | the body is not UTF-8, or starts with a byte order mark |
         *     | 400 | `bad_idempotency_key` | an `Idempotency-Key` over 255 characters, or two of them (or a comma in one) |
         *     | 415 | `unsupported_media_type` | the body is not declared `application/json` (or `application/*+json`) in UTF-8 |
         *     | 403 | (the refusal's code) | the agent or the action type is paused with "block"; the message says why |
         *     | 409 | `idempotency_key_in_flight` | the same key while the first request is still in progress: retry it |
         *     | 413 | `body_too_large` | body over the limit (256 KiB by default) |
         *     | 422 | `params_invalid` | the parameters fail the type's JSON Schema; `details` lists every error |
         *     | 422 | `unknown_action` | no such action type, when the site refuses unknown types |
         *     | 422 | `action_key_invalid` | a key outside the format (README), registered or not; a new second spelling of one |
         *     | 422 | `idempotency_key_reused` | the same key with a different body |
         *     | 422 | `callback_url_refused` | `callback_url` not http(s), with credentials, or its host not public (README) |
         *     | 422 | `unknown_field` | a top-level field this API does not list; `details` names each |
         *     | 429 | | the agent is over its request rate (where a rate limit is configured): retry later |
         *
         *     Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
         *     `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
         */
        post: operations["approvals_api_propose"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/actions/{action_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Action
         * @description The action as it is now. `404 not_found` for an unknown id or another agent's action.
         *
         *     Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
         *     `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
         */
        get: operations["approvals_api_get_action"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/actions/{action_id}/wait": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Wait
         * @description Long-poll: answers as soon as the action leaves `pending` or `suggested`, or after
         *     `timeout` seconds (at most 60) with its current state.
         *
         *     The answer arrives within a fraction of a second of the reviewer's click (PostgreSQL
         *     LISTEN/NOTIFY, no polling interval). Still `pending` at the timeout: call again.
         *     `400 bad_timeout` for a timeout outside 0–60; `404 not_found` for another agent's action.
         *     A waiting request holds no server thread: thousands of agents may wait at once.
         *
         *     Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
         *     `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
         */
        get: operations["approvals_api_wait"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/actions/{action_id}/result": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Report Result
         * @description Record what happened when the agent executed an approved action: it becomes `executed` or
         *     `failed`. Sending the same outcome again is harmless (`200`, unchanged); `409 conflict` for an
         *     action that is not approved (pending, rejected, …) or already has another outcome.
         *
         *     Where the type reviews outputs, the report is held instead (`202`, `output_review.status`
         *     `pending`): do not give the output to the model; `/wait` answers once a person released it
         *     (the outcome's `output` is what you may use, maybe redacted) or withheld it.
         *
         *     Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
         *     `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
         */
        post: operations["approvals_api_report_result"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/actions/{action_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel
         * @description Withdraw a pending action: it becomes `cancelled` and leaves the inbox. `409 conflict` once
         *     it is decided (the message says by whom and when).
         *
         *     Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
         *     `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
         */
        post: operations["approvals_api_cancel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/actions/{action_id}/repeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Repeat
         * @description For a framework that can only run the arguments its model wrote (the OpenAI Agents SDK, for
         *     one): after an approval with changes, the agent tells its model to call again with exactly
         *     `final_params`, and that one repeated call is approved at once instead of being reviewed a
         *     second time. It is a one-shot standing approval in the reviewer's name, bound to this type, this
         *     agent and exactly those parameters, recorded in the audit log; asking again changes nothing. As
         *     any standing approval, it never waives the review of an irreversible type. `409 conflict` unless
         *     the action was approved with changes.
         *
         *     Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
         *     `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
         */
        post: operations["approvals_api_repeat"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/action-types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Action Types
         * @description The tools an agent may call (active action types), with their level and parameter schema.
         *
         *     Every request: `Authorization: Bearer <agent token>` (else `401 unauthorized`). Every error:
         *     `{"error": {"code", "message", "details"}}`; `503 database_unavailable` means try again shortly.
         */
        get: operations["approvals_api_action_types"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/escalations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Open Appeal
         * @description The end user says "This is wrong" or asks for a person; it reaches the supervisors'
         *     inbox at the top, with its own SLA, linked to the session's actions.
         */
        post: operations["approvals_api_escalate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/function_calls": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create Function Call
         * @description Propose a function call, as `HumanLayer.require_approval()` does before running it.
         */
        post: operations["approvals_humanlayer_create_function_call"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/function_calls/{call_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Function Call
         * @description The call with its status: `approved` is null until a person (or the policy) has decided.
         */
        get: operations["approvals_humanlayer_get_function_call"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/agent/function_calls/{call_id}/respond": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Respond To Function Call
         * @description Withdraw the call (`approved: false`). Approving is refused with 403: an agent never approves its
         *     own call; a supervisor decides in the inbox.
         */
        post: operations["approvals_humanlayer_respond_to_function_call"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/agent/function_calls/{call_id}/result": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Report Function Call Result
         * @description Not in HumanLayer's API (its SDK reports nothing): what the approved function did, as
         *     `POST /api/v1/actions/{id}/result` records it, found by the call's id. `hitl_client.humanlayer`
         *     sends it; `409 conflict` for a call that is not approved or already has another outcome.
         */
        post: operations["approvals_humanlayer_report_function_call_result"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/contact_requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create Contact Request
         * @description Ask a person, as `HumanLayer.human_as_tool()` does: a question card in the inbox.
         */
        post: operations["approvals_humanlayer_create_contact_request"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/contact_requests/{call_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get Contact Request
         * @description The question with its answer: `status.response` is null until a person has answered.
         */
        get: operations["approvals_humanlayer_get_contact_request"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/agent/human_contacts/{call_id}/respond": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Respond To Contact Request
         * @description Refused: a person answers the agent's question, never the agent itself.
         */
        post: operations["approvals_humanlayer_respond_to_contact_request"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/agent/human_contacts/{call_id}/escalate_email": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Expedite Contact Request
         * @description Expedite the question: it is urgent, at the top of the inbox, due now, with the message.
         */
        post: operations["approvals_humanlayer_expedite_contact_request"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/humanlayer/agent/function_calls/{call_id}/escalate_email": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Escalate Function Call
         * @description Send the waiting call to the next tier of its type's SLA ladder at once, as a reviewer's
         *     "Escalate now" does; the message goes into the audit log.
         */
        post: operations["approvals_humanlayer_escalate_function_call"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** ActionOut */
        ActionOut: {
            /**
             * Id
             * Format: uuid
             * @description The action's id, for `/actions/{id}`, `/wait`, `/result` and `/cancel`.
             */
            id: string;
            /**
             * Action
             * @description The action type's key.
             */
            action: string;
            /**
             * Status
             * @description suggested · pending · approved · rejected · expired · cancelled · executed · failed · dismissed.
             *     Run the tool only when `approved`; never when `suggested`.
             */
            status: string;
            /**
             * Autonomy
             * @description The level the policy routed it at: suggest, confirm, audit or autonomous.
             */
            autonomy: string;
            /**
             * Summary
             * @description Plain-language summary rendered by Countersign from the literal parameters.
             */
            summary: string;
            /**
             * Params
             * @description The parameters as the agent proposed them.
             */
            params: {
                [key: string]: unknown;
            };
            /**
             * Final Params
             * @description What to execute once approved: the reviewer's edit where there was one, else `params`. Null until approved.
             */
            final_params: {
                [key: string]: unknown;
            } | null;
            /** @description Why the policy chose this level. */
            route: components["schemas"]["RouteOut"];
            /** @description The person's decision; null while pending, and for an action approved by policy. */
            decision: components["schemas"]["DecisionOut"] | null;
            /**
             * Outcome
             * @description What the agent reported: `{"status": "succeeded"|"failed", "output": {…}, "error": "…"}`.
             */
            outcome: {
                [key: string]: unknown;
            } | null;
            /**
             * Session Id
             * @description The proposal's `session_id` ("" when none).
             */
            session_id: string;
            /**
             * Batch
             * @description The proposal's `batch` key ("" when none).
             */
            batch: string;
            /**
             * Due At
             * @description When a pending action expires (its SLA); the fallback then rejects it.
             */
            due_at: string | null;
            /**
             * Created At
             * Format: date-time
             * @description When the proposal arrived (UTC).
             */
            created_at: string;
            /**
             * Review Url
             * @description The action's page in the inbox, to show a user who is waiting.
             */
            review_url: string;
            /** @description Present once the action is approved (or has run). */
            receipt?: components["schemas"]["ReceiptOut"] | null;
            /**
             * Output Review
             * @description Where the type has a person review the tool's output before the agent gets it: `{"status": "pending", "message": "output under review", "reason", "due_at"}` while held, then `released`, `redacted` (the outcome's output is the redacted copy) or `withheld` (no output; `note` says why).
             */
            output_review?: {
                [key: string]: unknown;
            } | null;
        };
        /** DecisionOut */
        DecisionOut: {
            /**
             * Verdict
             * @description What the reviewer decided.
             * @enum {string}
             */
            verdict: "approved" | "rejected";
            /**
             * Edited
             * @description True when the reviewer changed parameters before approving: run `final_params`.
             */
            edited: boolean;
            /**
             * By
             * @description The reviewer's username.
             */
            by: string;
            /**
             * At
             * Format: date-time
             * @description When the decision was made (UTC).
             */
            at: string;
            /**
             * Reason
             * @description The reviewer's reason (for a rejection: what to tell the agent or its user).
             */
            reason: string;
        };
        /**
         * ReceiptOut
         * @description The server's HMAC-SHA256 signature over what was approved; see `hitl_client.verify_receipt()`.
         */
        ReceiptOut: {
            /**
             * Action Id
             * Format: uuid
             * @description The approved action's id: a receipt is good for this action only, once.
             */
            action_id: string;
            /**
             * Action
             * @description The action type's key.
             * @example payments.refund
             */
            action: string;
            /**
             * Params
             * @description The final parameters: exactly what may be executed.
             */
            params: {
                [key: string]: unknown;
            };
            /**
             * Expires At
             * @description Unix time (seconds) after which the receipt is void.
             * @example 1795539600
             */
            expires_at: number;
            /**
             * Alg
             * @description The signature's algorithm.
             * @constant
             */
            alg: "HMAC-SHA256";
            /**
             * Signature
             * @description Hex HMAC-SHA256, under the agent's receipt secret, of `countersign-receipt-v1\n` followed by the canonical JSON (sorted keys, no spaces) of action_id, action, params and expires_at.
             */
            signature: string;
        };
        /** RouteOut */
        RouteOut: {
            /**
             * Reasons
             * @description Each routing step that raised the level, in words: "rule 'large refund' matched: params.amount > 500".
             */
            reasons: string[];
            /**
             * Checkers
             * @description Each maker-checker verdict: `{"name": "schema", "verdict": "pass"}`.
             */
            checkers: {
                [key: string]: unknown;
            }[];
        };
        /** ErrorBody */
        ErrorBody: {
            /**
             * Code
             * @description Machine-readable, stable: see the list of error codes in the API description.
             * @example params_invalid
             */
            code: string;
            /** Message */
            message: string;
            /**
             * Details
             * @description For `params_invalid` and `bad_request`: every error, as `{"path": "amount", "message": "…"}`.
             * @default []
             */
            details: unknown[];
        };
        /** ErrorOut */
        ErrorOut: {
            error: components["schemas"]["ErrorBody"];
        };
        /** ProposalIn */
        ProposalIn: {
            /**
             * Action
             * @description The action type's key (`GET /action-types` lists them). An unknown key registers a draft type
             *     at `confirm`, or is refused with `422 unknown_action`, by site setting. A key outside the format
             *     (1 to 128 ASCII letters, digits, `_` and `-` in segments joined by dots, starting with a letter),
             *     or one that reads like an existing key, is refused with `422 action_key_invalid`.
             * @example payments.refund
             */
            action: string;
            /**
             * Params
             * @description The tool call's literal arguments, checked against the action type's JSON Schema.
             * @example {
             *       "amount": 750,
             *       "currency": "USD",
             *       "customer": "cus_123"
             *     }
             */
            params: {
                [key: string]: unknown;
            };
            /**
             * Session Id
             * @description The agent's run or conversation; groups actions on the inbox and in the audit log.
             * @example run-42
             */
            session_id?: string | null;
            /**
             * On Behalf Of
             * @description The person the agent acts for; never allowed to approve their own action.
             * @example alice@example.com
             */
            on_behalf_of?: string | null;
            /**
             * Model
             * @description The model that proposed the call, for the audit log.
             * @example gpt-5.1
             */
            model?: string | null;
            /**
             * Prompt Version
             * @description The agent's prompt version, for the audit log.
             * @example billing-agent@v7
             */
            prompt_version?: string | null;
            /**
             * Confidence
             * @description The agent's confidence, 0–1 or low/medium/high: a hint, not truth; below the type's threshold
             *     it asks for a person.
             * @example 0.62
             */
            confidence?: number | ("low" | "medium" | "high") | null;
            /**
             * Rationale
             * @description Why the agent wants this, in its own words; shown to the reviewer apart from the literal call, never as HTML.
             */
            rationale?: string | null;
            /**
             * Context
             * @description Anything the reviewer or the rules should see; list keys that came from untrusted input under `untrusted`.
             * @example {
             *       "ticket": "T-981",
             *       "untrusted": [
             *         "ticket.body"
             *       ]
             *     }
             */
            context?: {
                [key: string]: unknown;
            } | null;
            /**
             * Batch
             * @description Groups related actions into one confirmation on the inbox.
             * @example refunds-2026-11-24
             */
            batch?: string | null;
            /**
             * Callback Url
             * @description Where to POST each decision or end state of this action (approved, edited, rejected, expired,
             *     cancelled, …): the action as this API returns it, signed per Standard Webhooks with the agent's
             *     callback secret. Defaults to the agent's callback URL. http(s) only, no credentials; a host that
             *     resolves to a loopback, private, link-local, site-local or reserved address, or to an IPv6 one that
             *     embeds such an IPv4 address (mapped, 6to4, Teredo, NAT64), is refused (`422 callback_url_refused`).
             * @example https://agent.example.com/countersign
             */
            callback_url?: string | null;
        };
        /** ResultIn */
        ResultIn: {
            /**
             * Status
             * @description Whether the tool call worked.
             * @enum {string}
             */
            status: "succeeded" | "failed";
            /**
             * Output
             * @description What the tool returned, as a JSON object.
             */
            output?: {
                [key: string]: unknown;
            } | null;
            /**
             * Error
             * @description For a failure: the error, as text.
             * @default
             */
            error: string;
        };
        /** ActionTypeOut */
        ActionTypeOut: {
            /** Key */
            key: string;
            /** Name */
            name: string;
            /** Description */
            description: string;
            /** Autonomy */
            autonomy: string;
            /** Irreversible */
            irreversible: boolean;
            /** Blast Radius */
            blast_radius: string;
            /**
             * Params Schema
             * @description The JSON Schema the parameters must satisfy.
             */
            params_schema: {
                [key: string]: unknown;
            };
            /**
             * Editable Params
             * @description The parameters a reviewer may change before approving.
             */
            editable_params: string[];
        };
        /** UserEscalationOut */
        UserEscalationOut: {
            /**
             * Id
             * Format: uuid
             */
            id: string;
            /** Kind */
            kind: string;
            /** Message */
            message: string;
            /** Session Id */
            session_id: string;
            /** Action Id */
            action_id: string | null;
            /**
             * Status
             * @enum {string}
             */
            status: "open" | "resolved";
            /**
             * Due At
             * Format: date-time
             */
            due_at: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
        };
        /** UserEscalationIn */
        UserEscalationIn: {
            /**
             * Kind
             * @enum {string}
             */
            kind: "wrong" | "human";
            /**
             * Message
             * @default
             */
            message: string;
            /**
             * Session Id
             * @example run-42
             */
            session_id?: string | null;
            /** Action Id */
            action_id?: string | null;
        };
        /** FunctionCallOut */
        FunctionCallOut: {
            /** Run Id */
            run_id: string;
            /** Call Id */
            call_id: string;
            spec: components["schemas"]["FunctionCallSpec"];
            status: components["schemas"]["FunctionCallStatus"];
        };
        /** FunctionCallSpec */
        FunctionCallSpec: {
            /**
             * Fn
             * @description The function's name: the action type's key.
             */
            fn: string;
            /**
             * Kwargs
             * @description The function's arguments: the action's parameters.
             */
            kwargs: {
                [key: string]: unknown;
            };
            /** Channel */
            channel?: {
                [key: string]: unknown;
            } | null;
            /** Reject Options */
            reject_options?: {
                [key: string]: unknown;
            }[] | null;
            /** State */
            state?: {
                [key: string]: unknown;
            } | null;
        };
        /** FunctionCallStatus */
        FunctionCallStatus: {
            /** Requested At */
            requested_at?: string | null;
            /** Responded At */
            responded_at?: string | null;
            /** Approved */
            approved?: boolean | null;
            /** Comment */
            comment?: string | null;
            /** Reject Option Name */
            reject_option_name?: string | null;
        };
        /** FunctionCallIn */
        FunctionCallIn: {
            /**
             * Run Id
             * @example billing-agent-3kd9
             */
            run_id: string;
            /**
             * Call Id
             * @example call-8fj2
             */
            call_id: string;
            spec: components["schemas"]["FunctionCallSpec"];
            status?: components["schemas"]["FunctionCallStatus"] | null;
        };
        /** HumanContactOut */
        HumanContactOut: {
            /** Run Id */
            run_id: string;
            /** Call Id */
            call_id: string;
            spec: components["schemas"]["HumanContactSpec"];
            status: components["schemas"]["HumanContactStatus"];
        };
        /** HumanContactSpec */
        HumanContactSpec: {
            /**
             * Msg
             * @description The question, shown to a person as written.
             */
            msg: string;
            /** Subject */
            subject?: string | null;
            /** Channel */
            channel?: {
                [key: string]: unknown;
            } | null;
            /** Response Options */
            response_options?: components["schemas"]["ResponseOption"][] | null;
            /** State */
            state?: {
                [key: string]: unknown;
            } | null;
        };
        /** HumanContactStatus */
        HumanContactStatus: {
            /** Requested At */
            requested_at?: string | null;
            /** Responded At */
            responded_at?: string | null;
            /** Response */
            response?: string | null;
            /** Response Option Name */
            response_option_name?: string | null;
        };
        /** ResponseOption */
        ResponseOption: {
            /** Name */
            name: string;
            /** Title */
            title?: string | null;
            /** Description */
            description?: string | null;
            /** Prompt Fill */
            prompt_fill?: string | null;
            /**
             * Interactive
             * @default false
             */
            interactive: boolean;
        };
        /** HumanContactIn */
        HumanContactIn: {
            /**
             * Run Id
             * @example billing-agent-3kd9
             */
            run_id: string;
            /**
             * Call Id
             * @example contact-8fj2
             */
            call_id: string;
            spec: components["schemas"]["HumanContactSpec"];
            status?: components["schemas"]["HumanContactStatus"] | null;
        };
        /**
         * EscalationIn
         * @description HumanLayer's `Escalation`, the body of both `escalate_email` routes.
         */
        EscalationIn: {
            /** Escalation Msg */
            escalation_msg: string;
            /** Additional Recipients */
            additional_recipients?: {
                [key: string]: unknown;
            }[] | null;
            /** Channel */
            channel?: {
                [key: string]: unknown;
            } | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    approvals_api_propose: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description 1–255 characters, scoped to the agent. Resending the same key and body returns the stored action (`200`) instead of creating another; `hitl_client` sends one per proposal and keeps it across retries.
                 * @example refund-981
                 */
                "Idempotency-Key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProposalIn"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "params_invalid",
                     *         "message": "The parameters do not match the schema of 'payments.refund' (2 errors).",
                     *         "details": [
                     *           {
                     *             "path": "amount",
                     *             "message": "-5 is less than or equal to the minimum of 0"
                     *           },
                     *           {
                     *             "path": "",
                     *             "message": "'currency' is a required property"
                     *           }
                     *         ]
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_api_get_action: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                action_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_api_wait: {
        parameters: {
            query?: {
                timeout?: number;
            };
            header?: never;
            path: {
                action_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_api_report_result: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                action_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ResultIn"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Accepted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_api_cancel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                action_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_api_repeat: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                action_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_api_action_types: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActionTypeOut"][];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_api_escalate: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserEscalationIn"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserEscalationOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_create_function_call: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FunctionCallIn"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionCallOut"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionCallOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_get_function_call: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                call_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionCallOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_respond_to_function_call: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                call_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FunctionCallStatus"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionCallOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_report_function_call_result: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                call_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ResultIn"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionCallOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_create_contact_request: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["HumanContactIn"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HumanContactOut"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HumanContactOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_get_contact_request: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                call_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HumanContactOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_respond_to_contact_request: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                call_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["HumanContactStatus"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HumanContactOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_expedite_contact_request: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                call_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EscalationIn"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HumanContactOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
    approvals_humanlayer_escalate_function_call: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                call_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EscalationIn"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionCallOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unsupported Media Type */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorOut"];
                };
            };
        };
    };
}
