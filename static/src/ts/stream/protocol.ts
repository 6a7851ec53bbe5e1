// The event protocol of a generation, defined once for the TypeScript side. The Python side
// defines the same table in engine/protocol.py; static/tests/vitest/stream/protocol.test.ts
// runs that file and fails when the two differ.
//
// Every event is a delta: text arrives once, in order, and the client appends it.

/** Field types by TypeScript name; a trailing "?" means the value may be null. */
export const EVENT_FIELDS = {
    message_created: { message_id: "number", role: "string" },
    text_delta: { message_id: "number", text: "string" },
    reasoning_delta: { message_id: "number", text: "string" },
    tool_call_started: {
        message_id: "number",
        call_id: "string",
        name: "string",
        arguments: "object",
    },
    // `records`: what the call was about, [{model, id, label, changed}], named for the user;
    // `changed` is true when the tool writes.
    tool_call_finished: {
        message_id: "number",
        call_id: "string",
        name: "string",
        result: "string?",
        error: "string?",
        records: "array",
    },
    approval_required: {
        message_id: "number",
        call_id: "string",
        name: "string",
        preview: "object",
    },
    // `estimated`: the provider sent no counts; `cost` is in `currency` (ISO code), the
    // company's currency, from the model's prices; `model`: the name of the model that
    // answered (the "Auto" model's choice), `provider`: its provider's name.
    usage: {
        message_id: "number",
        input_tokens: "number",
        output_tokens: "number",
        estimated: "boolean",
        cost: "number",
        currency: "string",
        model: "string",
        provider: "string",
    },
    // The provider asked to wait (HTTP 429) or failed (5xx) before the answer started: the
    // request is sent again after `seconds`; `code` is the error kind (rate_limit, server).
    retrying: { seconds: "number", code: "string" },
    // A monthly budget is at 80% or more (the call still goes ahead); before the first call.
    budget_warning: { message: "string" },
    // The knowledge passages given to the model for the question `message_id` (a user
    // message), before the first call: [{n, label, url, source, quote}], what the answer
    // cites as [n]. Sent when the conversation has knowledge sources.
    citations: { message_id: "number", citations: "array" },
    message_final: {
        message_id: "number",
        finish_reason: "string",
        stopped: "boolean",
        error: "string?",
    },
    // `message`: one sentence for the user; `detail`: the provider's own words, if any.
    error: { code: "string", message: "string", detail: "string", message_id: "number?" },
    heartbeat: {},
    done: { thread_id: "number", state: "string" },
} as const;

export type EventName = keyof typeof EVENT_FIELDS;

interface FieldTypes {
    number: number;
    string: string;
    boolean: boolean;
    object: Record<string, unknown>;
    array: unknown[];
    "number?": number | null;
    "string?": string | null;
}

/** The payload of event `K`, derived from the table so the two can never disagree. */
type Fields<K extends EventName> = (typeof EVENT_FIELDS)[K];
export type EventPayload<K extends EventName> = {
    -readonly [F in keyof Fields<K>]: FieldTypes[Fields<K>[F] & keyof FieldTypes];
};

/** One event as the stream client delivers it: a discriminated union on `type`. */
export type StreamEvent = { [K in EventName]: { type: K; payload: EventPayload<K> } }[EventName];

/** Role of a created message. */
export type MessageRole = "user" | "assistant" | "tool" | "system";

/** Generation states of a thread (llm.thread.generation_state). */
export const GENERATION_STATES = ["idle", "generating", "waiting", "approval", "error"] as const;
export type GenerationState = (typeof GENERATION_STATES)[number];

/** The states in which a run holds the thread's claim. */
export const BUSY_STATES: readonly GenerationState[] = ["generating", "waiting"];

/** Odoo's bus notification of a thread's new state: `{thread_id, state}`. */
export const GENERATION_STATE_NOTIFICATION = "llm_thread/generation_state";

/** Odoo's bus notification of a change to the user's list of conversations:
 * `{thread_id, change}`, `change` one of THREAD_LIST_CHANGES. */
export const THREAD_LIST_NOTIFICATION = "llm_thread/thread_list";
export const THREAD_LIST_CHANGES = ["created", "renamed", "deleted"] as const;
export type ThreadListChange = (typeof THREAD_LIST_CHANGES)[number];

/** The keys of a stored message's body_json (conversation/types.ts `StoredBody` types them). */
export const STORED_BODY_KEYS = [
    "finish_reason", "interrupted", "stopped", "error", "tool_calls", "reasoning",
    "reasoning_seconds", "usage", "approvals", "tool_call_id", "name", "arguments", "is_error",
    "records", "knowledge",
] as const;

/** Codes of the "error" event besides the provider error kinds (providers/base.py). */
export const ERROR_CODES = {
    alreadyGenerating: "already_generating",
    iterationLimit: "iteration_limit",
    budgetExceeded: "budget_exceeded",
    notConfigured: "not_configured",
    internal: "internal",
} as const;

export function isEventName(name: string): name is EventName {
    return Object.hasOwn(EVENT_FIELDS, name);
}
