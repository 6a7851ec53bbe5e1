// Shapes of messages: as llm.thread.llm_ui_load returns them, and as shown.
import type { PendingAttachment } from "../composer/attachments";
import type { AttachmentView } from "../core/transport";
import type { STORED_BODY_KEYS } from "../stream/protocol";
import type { UsageView } from "../usage/usage";

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
    /** The files and images sent with a question (llm_thread_attachments.py). */
    attachments?: AttachmentView[];
}

/** An edited question the server refused: its edit box opens again with its text and files. */
export interface RefusedEdit {
    /** The question edited. */
    id: number;
    text: string;
    attachments: PendingAttachment[];
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

/** Fails to compile unless StoredBody types exactly the keys the protocol lists. */
type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type StoredBodyMatchesProtocol = Assert<Agree<keyof StoredBody, (typeof STORED_BODY_KEYS)[number]>>;

/** The user's rating of an answer (llm.feedback). */
export interface FeedbackView {
    rating: "up" | "down";
    comment: string;
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
    /** Questions: the files and images sent with them. */
    attachments?: AttachmentView[];
}
