// Shapes the UI works with: what models/llm_thread_ui.py returns; the messages' are in
// message/types.ts, below this folder, and re-exported here with the others.
import type { StoredMessage } from "../message/types";
import type { GenerationState } from "../stream/protocol";

// Declared once, with the protocol or the transport; the views import them from here with
// the other shapes.
export type { AttachmentView } from "../core/transport";
export type { GenerationState };
export type {
    ApprovalPreview,
    ApprovalView,
    CitationView,
    FeedbackView,
    MessageView,
    RecordLink,
    RefusedEdit,
    StoredBody,
    StoredMessage,
    ToolCallView,
} from "../message/types";

/** One thread as listed (llm.thread.llm_ui_list / _llm_ui_summary). */
export interface ThreadSummary {
    id: number;
    name: string;
    write_date: string;
    provider_id: number | false;
    model_id: number | false;
    /** Shown when the model is no longer one the user may pick (archived, another company's). */
    model_name: string;
    /** The "Auto" model: the server picks the cheapest model that fits, before each answer. */
    auto_model: boolean;
    tool_names: string[];
    /** The conversation's own knowledge sources (besides its assistant's); absent: none. */
    knowledge_source_ids?: number[];
    /** The llm.assistant answering (its instructions, model, settings and tools), if any. */
    assistant_id: number | false;
    /** Shown when the assistant is no longer one the user may pick. */
    assistant_name: string;
    res_model: string | false;
    res_id: number | false;
    record_name: string;
    /** The linked record no longer exists: `record_name` says so; absent on a draft. */
    record_deleted?: boolean;
    generation_state: GenerationState;
    generation_error: string;
    /** The linked record takes notes and messages from this user (mail's composer). */
    record_can_post?: boolean;
    /** Started by a Run Assistant action (an automation rule, the Action menu); absent on a
     * draft. */
    from_automation?: boolean;
    /** A test conversation of this assistant (its form's Test button), offered there whatever
     * its Offered On; absent on a draft. */
    test_assistant_id?: number | false;
}

/** The total of a thread's usage lines (llm.thread._llm_ui_usage), usageFrom() reads it. */
export interface StoredUsage {
    input_tokens: number;
    output_tokens: number;
    estimated: boolean;
    /** null when its lines are in several currencies. */
    cost: number | null;
    currency: string;
    model: string;
}

export interface ThreadData extends ThreadSummary {
    messages: StoredMessage[];
    /** Every call of the thread, earlier versions included; null before the first; absent on
     * a draft (nothing called yet). */
    usage?: StoredUsage | null;
    /** A monthly budget of the user is 80% used or more (llm.budget._llm_current_warning). */
    budget_warning?: string;
}

export interface ModelOption {
    id: number;
    name: string;
    provider_id: number;
    provider_name: string;
    is_default: boolean;
    /** Marked Tools: the conversation's tools are sent to it only then. */
    supports_tools: boolean;
    /** No price set (not Ollama): the Auto model counts it as free. */
    price_missing: boolean;
}

export interface ToolOption {
    /** What the model calls it by (e.g. update_record). */
    name: string;
    /** Its name for people ("Update record"), as the menu and refusals name it. */
    label: string;
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
    /** Without any model: the current company, its LLM managers' names, and the providers
     * that have no chat model yet (empty when there is no provider at all). */
    company_name?: string;
    manager_names?: string;
    empty_provider_names?: string;
    /** The knowledge sources the user may choose for a conversation (llm_knowledge_thread). */
    knowledge_sources?: KnowledgeSourceOption[];
}

export interface KnowledgeSourceOption {
    id: number;
    name: string;
    /** What it indexes, in words: "Files", "Web Pages"... */
    kind: string;
}
