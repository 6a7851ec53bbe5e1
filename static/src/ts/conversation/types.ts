// Shapes the UI works with: what models/llm_thread_ui.py returns, and the messages as shown.
import type { UsageView } from "../usage/usage";

export type GenerationState = "idle" | "generating" | "waiting" | "approval" | "error";

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
    res_model: string | false;
    res_id: number | false;
    record_name: string;
    generation_state: GenerationState;
    generation_error: string;
}

/** A stored message (llm.thread.llm_ui_load). */
export interface StoredMessage {
    id: number;
    role: "user" | "assistant" | "tool" | "system";
    text: string;
    data: Record<string, any>;
    date: string;
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

export interface ChatOptions {
    models: ModelOption[];
    tools: ToolOption[];
    can_configure: boolean;
}

export interface RecordLink {
    model: string;
    id: number;
    label: string;
}

/** What a call waiting for approval will do (llm.tool._llm_preview). */
export interface ApprovalPreview {
    tool: string;
    risk: string;
    /** The model's label, e.g. "Contact"; empty when the tool is not about one model. */
    model: string;
    records: string[];
    /** One line per field (or argument): old value (null: none shown) -> new value. */
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
    stopped: boolean;
    /** False while the answer streams. */
    done: boolean;
    /** Answers: the knowledge passages they cite (from the question's stored citations). */
    citations?: CitationView[];
}
