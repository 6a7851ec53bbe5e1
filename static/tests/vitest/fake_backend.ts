import {
    UploadRefused,
    type AttachmentView,
    type ChatBackend,
    type FollowRequest,
    type GenerationRequest,
    type GenerationStateChange,
    type ThreadListNotice,
} from "../../src/ts/core/transport";
import type {
    ChatOptions,
    MessageView,
    PromptSuggestion,
    ThreadData,
    ThreadSummary,
} from "../../src/ts/conversation/types";

export type ScriptedEvent = [string, Record<string, unknown>];

export function thread(values: Partial<ThreadData> = {}): ThreadData {
    return {
        id: 1,
        name: "New conversation",
        write_date: "2026-01-01 10:00:00",
        provider_id: 1,
        model_id: 1,
        model_name: "Fast (OpenAI)",
        auto_model: false,
        tool_names: [],
        assistant_id: false,
        assistant_name: "",
        res_model: false,
        res_id: false,
        record_name: "",
        generation_state: "idle",
        generation_error: "",
        messages: [],
        ...values,
    };
}

/** A finished answer as the conversation shows it (id 11), with `values` changed. */
export function messageView(values: Partial<MessageView> = {}): MessageView {
    return {
        id: 11, role: "assistant", text: "Answer", reasoning: "", reasoningSeconds: null,
        reasoningStartedAt: null, toolCalls: [], usage: null, error: "", errorDetail: "", stopped: false,
        interrupted: false, done: true, finishReason: "stop", date: "", versions: [], feedback: null,
        ...values,
    };
}

export const OPTIONS: ChatOptions = {
    models: [
        { id: 1, name: "Fast", provider_id: 1, provider_name: "OpenAI", is_default: true, supports_tools: true, price_missing: false },
        { id: 2, name: "Smart", provider_id: 1, provider_name: "OpenAI", is_default: false, supports_tools: true, price_missing: false },
    ],
    tools: [
        { name: "search_records", label: "Search records", description: "Search records", writes: false, risk: "read", requires_approval: false },
        { name: "update_record", label: "Update record", description: "Change a record", writes: true, risk: "write", requires_approval: true },
    ],
    assistants: [
        {
            id: 1, name: "Odoo helper", description: "Answers about Odoo", model_id: false, auto_model: false, is_default: false, tool_names: [],
            offered_on: [], starter_prompts: ["What can you do for me?"],
        },
        {
            id: 2, name: "Contacts helper", description: "For contacts", model_id: 2, auto_model: false, is_default: false, tool_names: [],
            offered_on: ["res.partner"], starter_prompts: [],
        },
    ],
    default_tool_names: ["search_records"],
    can_configure: true,
};

/**
 * An in-memory llm.thread backend. Generations play `scripts` (one list of events per call);
 * a script may be a function that receives the request and drives it itself (to test
 * interleavings without timers).
 */
export class FakeBackend implements ChatBackend {
    threads: ThreadData[] = [];
    options: ChatOptions = OPTIONS;
    /** What llm_ui_prompts answers for a thread linked to a record. */
    prompts: PromptSuggestion[] = [];
    /** What llm_ui_prompts answers for a thread about no record (the LLM Chat app's). */
    unlinkedPrompts: PromptSuggestion[] = [];
    calls: [string, unknown[], Record<string, unknown>][] = [];
    rpcs: [string, Record<string, unknown>][] = [];
    requests: GenerationRequest[] = [];
    scripts: (ScriptedEvent[] | ((request: GenerationRequest) => Promise<void>))[] = [];
    /** Follows of a running generation (a reload, another tab's answer), one per call; with
     * none scripted, the server's answer when nothing runs: "done" with the thread's state. */
    follows: (ScriptedEvent[] | ((request: FollowRequest) => Promise<void>))[] = [];
    followRequests: FollowRequest[] = [];
    nextId = 100;
    /** Files uploaded, by thread; `refusedUploads`: file name -> the server's refusal. */
    uploads: [number, File][] = [];
    refusedUploads = new Map<string, string>();
    /** Subscribers to state changes; `pushState()` plays what Odoo's bus delivers. */
    stateListeners = new Set<(change: GenerationStateChange) => void>();
    listListeners = new Set<(change: ThreadListNotice) => void>();

    async call<T>(method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<T> {
        this.calls.push([method, args, kwargs]);
        const ids = (args[0] as number[] | undefined) ?? [];
        const find = () => this.threads.find((t) => t.id === ids[0])!;
        const summary = (t: ThreadData): ThreadSummary => {
            const { messages: _messages, ...rest } = t;
            return rest;
        };
        switch (method) {
            case "llm_ui_options":
                return clone(this.options) as T;
            case "llm_ui_list":
                return this.threads
                    // As the server: the name, or the text of a question or an answer.
                    .filter((t) => {
                        const search = kwargs["search"] as string;
                        return !search || t.name.includes(search) || t.messages.some((m) => m.text.includes(search));
                    })
                    .filter((t) => !kwargs["res_model"] || (t.res_model === kwargs["res_model"] && t.res_id === kwargs["res_id"]))
                    // As the server: the app's list leaves out automations' conversations unless
                    // asked for them, except one waiting for the user's approval.
                    .filter((t) =>
                        kwargs["automations"]
                            ? t.from_automation
                            : kwargs["res_model"] || !t.from_automation || t.generation_state === "approval",
                    )
                    .map(summary) as T;
            case "llm_ui_load":
                if (!find()) {
                    // As Odoo's RPCError with the server's one gate (llm.thread._llm_check_owner).
                    throw Object.assign(new Error("RPC_ERROR"), {
                        data: { message: "This conversation does not exist or is not yours." },
                    });
                }
                return clone(find()) as T;
            case "llm_ui_create": {
                const created = thread({
                    id: this.nextId++,
                    res_model: (kwargs["res_model"] as string) || false,
                    res_id: (kwargs["res_id"] as number) || false,
                    record_name: kwargs["res_model"] ? "Azure Interior" : "",
                    ...(kwargs["values"] as Partial<ThreadData> | undefined),
                });
                this.threads.unshift(created);
                return clone(created) as T;
            }
            case "llm_ui_delete":
                this.threads = this.threads.filter((t) => t.id !== ids[0]);
                return true as T;
            case "llm_ui_link": {
                const t = find();
                t.res_model = kwargs["res_model"] as string | false;
                t.res_id = kwargs["res_id"] as number | false;
                t.record_name = t.res_model ? "Azure Interior" : "";
                return summary(clone(t)) as T;
            }
            case "llm_ui_set_assistant": {
                const t = find();
                const assistant = this.options.assistants.find((a) => a.id === kwargs["assistant_id"]);
                t.assistant_id = assistant?.id ?? false;
                if (assistant?.model_id) {
                    t.model_id = assistant.model_id;
                }
                return summary(clone(t)) as T;
            }
            case "llm_ui_prompts":
                return clone(kwargs["res_model"] ? this.prompts : this.unlinkedPrompts) as T;
            case "llm_ui_readable_models":
                return [{ model: "res.partner", name: "Contact" }] as T;
            default:
                throw new Error(`unexpected call ${method}`);
        }
    }

    async callModel<T>(model: string, method: string): Promise<T> {
        if (model === "res.partner" && method === "name_search") {
            return [[7, "Azure Interior"]] as T;
        }
        if (model === "res.partner" && method === "read") {
            return [{ id: 7, display_name: "Azure Interior" }] as T;
        }
        throw new Error(`unexpected ${model}.${method}`);
    }

    async rpc<T>(route: string, params: Record<string, unknown>): Promise<T> {
        this.rpcs.push([route, params]);
        const match = /^\/llm\/thread\/(\d+)\/update$/.exec(route);
        if (match) {
            Object.assign(this.threads.find((t) => t.id === Number(match[1]))!, params["values"]);
        }
        if (route.endsWith("/decide")) {
            // The route answers with every approval of the thread by call id.
            return { [params["call_id"] as string]: { state: params["approved"] ? "approved" : "denied" } } as T;
        }
        return {} as T;
    }

    async upload(threadId: number, file: File): Promise<AttachmentView> {
        const refusal = this.refusedUploads.get(file.name);
        if (refusal) {
            throw new UploadRefused(refusal);
        }
        this.uploads.push([threadId, file]);
        return { id: 500 + this.uploads.length, name: file.name, mimetype: file.type };
    }

    onGenerationState(callback: (change: GenerationStateChange) => void): () => void {
        this.stateListeners.add(callback);
        return () => this.stateListeners.delete(callback);
    }

    onThreadList(callback: (change: ThreadListNotice) => void): () => void {
        this.listListeners.add(callback);
        return () => this.listListeners.delete(callback);
    }

    /** Another tab created, renamed or deleted a thread (change `threads` first). */
    pushList(change: ThreadListNotice): void {
        for (const listener of this.listListeners) {
            listener(change);
        }
    }

    /** Another tab's generation changed a thread's state (the stored thread changes too). */
    pushState(change: GenerationStateChange): void {
        const stored = this.threads.find((t) => t.id === change.thread_id);
        if (stored) {
            stored.generation_state = change.state;
        }
        for (const listener of this.stateListeners) {
            listener(change);
        }
    }

    startGeneration = async (request: GenerationRequest): Promise<void> => {
        this.requests.push(request);
        // As the server: a new conversation is named after its first message.
        const named = this.threads.find((t) => t.id === request.threadId);
        if (named && request.message && !named.messages.length && named.name === "New conversation") {
            named.name = request.message.trim().split("\n")[0]!;
        }
        const script = this.scripts.shift();
        if (!script) {
            throw new Error("no scripted generation");
        }
        if (typeof script === "function") {
            return script(request);
        }
        for (const [name, payload] of script) {
            request.onEvent(name as never, payload as never);
        }
    };

    followGeneration = async (request: FollowRequest): Promise<void> => {
        this.followRequests.push(request);
        const script = this.follows.shift();
        if (typeof script === "function") {
            return script(request);
        }
        const state = this.threads.find((t) => t.id === request.threadId)?.generation_state ?? "idle";
        for (const [name, payload] of script ?? [["done", { thread_id: request.threadId, state }]]) {
            request.onEvent(name as never, payload as never);
        }
    };
}

/**
 * Scripts an answer in thread 1 that streams "Half", then holds until the returned function
 * is called, then ends with " and whole"; the thread then stores what the server has by then.
 */
export function holdAnswer(backend: FakeBackend): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    backend.scripts.push(async (request) => {
        request.onEvent("message_created", { message_id: 11, role: "assistant" });
        request.onEvent("text_delta", { message_id: 11, text: "Half" });
        await held;
        request.onEvent("text_delta", { message_id: 11, text: " and whole" });
        request.onEvent("message_final", { message_id: 11, finish_reason: "stop", stopped: false, error: null });
        backend.threads.find((t) => t.id === 1)!.messages = [
            { id: 10, role: "user", text: "Go", data: {}, date: "" },
            { id: 11, role: "assistant", text: "Half and whole", data: {}, date: "" },
        ];
        request.onEvent("done", { thread_id: 1, state: "idle" });
    });
    return release;
}

/** A plain answer as the engine streams it. */
export function answer(text: string, { userId = 10, answerId = 11 } = {}): ScriptedEvent[] {
    return [
        ["message_created", { message_id: userId, role: "user" }],
        ["message_created", { message_id: answerId, role: "assistant" }],
        ...text.match(/.{1,5}/gs)!.map((piece): ScriptedEvent => ["text_delta", { message_id: answerId, text: piece }]),
        ["usage", {
            message_id: answerId, input_tokens: 12, output_tokens: 34, estimated: false, cost: 0.00042,
            currency: "USD", model: "Fast", provider: "OpenAI",
        }],
        ["message_final", { message_id: answerId, finish_reason: "stop", stopped: false, error: null }],
        ["done", { thread_id: 1, state: "idle" }],
    ];
}

/** Resolves after OWL has rendered pending changes (its scheduler runs on animation frames). */
export async function nextRender(): Promise<void> {
    for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));
        await Promise.resolve();
    }
}

export const fakeAction = {
    actions: [] as unknown[],
    doAction(action: unknown) {
        this.actions.push(action);
        return Promise.resolve();
    },
};

/** A deep copy, as if the data came over the network. */
function clone<T>(value: T): T {
    return JSON.parse(JSON.stringify(value));
}
