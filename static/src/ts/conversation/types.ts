// Shapes the UI works with: what models/llm_thread_ui.py returns, and the messages as shown.
import type { GenerationState } from "../stream/protocol";
import type { UsageView } from "../usage/usage";

// Declared once, with the protocol; the views import it from here with the other shapes.
export type { GenerationState };

/** One thread as listed (llm.thread.llm_ui_list / _llm_ui_summary). */
export interface ThreadSummary {
    id: number;
    name: string;
    write_date: string;
    provider_id: number | false;
    model_id: number | false;
    /** The "Auto" model: the server picks the cheapest model that fits, before each answer. */
    auto_model: boolean;
    tool_names: string[];
    /** The conversation's own knowledge sources (besides its assistant's); absent: none. */
    knowledge_source_ids?: number[];
    /** The llm.assistant answering (its instructions, model, settings and tools), if any. */
    assistant_id: number | false;
    res_model: string | false;
    res_id: number | false;
    record_name: string;
    generation_state: GenerationState;
    generation_error: string;
    /** The linked record takes notes and messages from this user (mail's composer). */
    record_can_post?: boolean;
}

/** A stored message (llm.thread.llm_ui_load). */
export interface StoredMessage {
    id: number;
    role: "user" | "assistant" | "tool" | "system";
    text: string;
    data: StoredBody;
    date: string;
    /** The ids of this message's versions, oldest first; empty when it has no other. */
    versions?: number[];
    feedback?: FeedbackView | null;
}

/**
 * A stored message's body_json, as the engine writes it (engine/turn.py `Turn.data` for an
 * answer, engine/generation.py `_store_tool_result` for a tool result), with the `approvals` that llm_tool_approval
 * merges in and a question's `knowledge` (llm_knowledge_thread). Every key is optional: which
 * are there depends on the role and on how far the turn got.
 */
export interface StoredBody {
    /** A question's sources (llm_knowledge_thread); citationsFrom() checks each one. */
    knowledge?: unknown;
    reasoning?: string;
    reasoning_seconds?: number | null;
    /** usageFrom() reads it. */
    usage?: Record<string, unknown> | null;
    error?: { code?: string; message?: string; detail?: string } | null;
    finish_reason?: string;
    stopped?: boolean;
    interrupted?: boolean;
    /** `offset`: where the call came in the answer, in code points (older answers have none). */
    tool_calls?: { id: string; name: string; arguments?: Record<string, unknown> | null; offset?: number }[];
    approvals?: Record<string, ApprovalView>;
    /** A tool result's call, and what was called with what. */
    tool_call_id?: string;
    name?: string;
    arguments?: Record<string, unknown>;
    is_error?: boolean;
    /** linksFrom() checks each one. */
    records?: unknown;
}

/** The user's rating of an answer (llm.feedback). */
export interface FeedbackView {
    rating: "up" | "down";
    comment: string;
}

export interface ThreadData extends ThreadSummary {
    messages: StoredMessage[];
}

export interface ModelOption {
    id: number;
    name: string;
    provider_id: number;
    provider_name: string;
    is_default: boolean;
}

export interface ToolOption {
    name: string;
    description: string;
    writes: boolean;
    risk: "read" | "write" | "destructive";
    requires_approval: boolean;
}

/** An assistant the user may pick (llm.assistant._llm_ui_option). */
export interface AssistantOption {
    id: number;
    name: string;
    description: string;
    /** The model it answers with (the model picker then shows it, fixed); false: any. */
    model_id: number | false;
    auto_model: boolean;
    /** New conversations start with it (one offered on their record's model first). */
    is_default: boolean;
    /** The tools it enables (those the user may use); empty: it leaves the tools as they are. */
    tool_names: string[];
    /** Record models it is offered on; empty: every conversation. */
    offered_on: string[];
    starter_prompts: string[];
}

/** A prompt offered on the thread's record, its text filled in (llm.thread.llm_ui_prompts). */
export interface PromptSuggestion {
    id: number;
    name: string;
    text: string;
}

/** A one-click suggestion of an empty conversation: `label` shown, `text` sent. */
export interface Suggestion {
    label: string;
    text: string;
}

export interface ChatOptions {
    models: ModelOption[];
    tools: ToolOption[];
    assistants: AssistantOption[];
    /** The tools a new conversation starts with. */
    default_tool_names: string[];
    can_configure: boolean;
    /** The knowledge sources the user may choose for a conversation (llm_knowledge_thread). */
    knowledge_sources?: KnowledgeSourceOption[];
}

export interface KnowledgeSourceOption {
    id: number;
    name: string;
    /** What it indexes, in words: "Files", "Web Pages"... */
    kind: string;
}

/** A record a tool call was about (llm.tool._llm_touched_records). */
export interface RecordLink {
    model: string;
    id: number;
    /** Its display name, or "<Model> #id" for a record the user may not read. */
    label: string;
    /** The tool writes: the call (may have) changed the record. */
    changed: boolean;
}

/** What a call waiting for approval will do (llm.tool._llm_preview). */
export interface ApprovalPreview {
    tool: string;
    risk: string;
    /** The model's label, e.g. "Contact"; empty when the tool is not about one model. */
    model: string;
    records: string[];
    /** One line per field that changes (or argument): old value (null: none shown) -> new. */
    changes: { field: string; old: string | null; new: string }[];
}

export interface ApprovalView {
    state: "pending" | "approved" | "denied" | "expired";
    preview: ApprovalPreview;
}

export interface ToolCallView {
    callId: string;
    name: string;
    arguments: Record<string, unknown>;
    /** "approval": waiting for the owner's Approve or Deny. */
    status: "running" | "approval" | "done" | "error";
    result: string;
    error: string;
    records: RecordLink[];
    approval: ApprovalView | null;
    /** Where the call came in the answer: the length (UTF-16) of the text written before it. */
    textOffset: number;
}

/** A passage of a knowledge source that an answer cites as [n]. */
export interface CitationView {
    n: number;
    label: string;
    /** Opens the source: the record, the file (at its page), the URL. */
    url: string;
    /** The passage, shown on hover. */
    quote: string;
}

/** A turn as shown: tool messages are folded into the assistant message that called them. */
export interface MessageView {
    /** The stored id; negative while a user message waits for the server's. */
    id: number;
    role: "user" | "assistant";
    text: string;
    reasoning: string;
    /** Seconds spent reasoning, once the answer text started (or the message ended). */
    reasoningSeconds: number | null;
    reasoningStartedAt: number | null;
    toolCalls: ToolCallView[];
    usage: UsageView | null;
    error: string;
    /** The provider's own words about the error, shown folded under it. */
    errorDetail: string;
    /** Why the answer ended (message_final): "length" (cut by the token limit), "refusal"... */
    finishReason: string;
    stopped: boolean;
    /** Cut by the death of the server process writing it (a crash, kill -9, a restart). */
    interrupted: boolean;
    /** False while the answer streams. */
    done: boolean;
    /** When it was written, as the server writes datetimes (UTC, "2026-01-01 10:00:00"). */
    date: string;
    /** The ids of this message's versions (regenerated, edited), oldest first. */
    versions: number[];
    feedback: FeedbackView | null;
    /** Answers: the knowledge passages they cite (from their question's `knowledge`). */
    citations?: CitationView[];
    /** Questions: the knowledge passages given to the model to answer them (stored on the
     * message, or sent by the "citations" event as the answer starts). */
    knowledge?: CitationView[];
}
