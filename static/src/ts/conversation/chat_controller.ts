import type { ConversationModel } from "./conversation_model";
import { liveConversations, newConversation } from "./live_conversations";
import type { ChatBackend, GenerationStateChange } from "./transport";
import type { ChatOptions, ThreadSummary } from "./types";

export interface ChatScope {
    /** Only threads linked to this record (the chatter panel); new threads are linked to it. */
    resModel?: string;
    resId?: number;
}

/**
 * What the LLM Chat app and the chatter panel share: the user's thread list (optionally
 * scoped to one record), the open conversation and the pickers' options. Reactive.
 */
export class ChatController {
    threads: ThreadSummary[] = [];
    search = "";
    activeId: number | null = null;
    options: ChatOptions = { models: [], tools: [], can_configure: false };
    ready = false;
    /** The open conversation (an empty one until a thread is opened). */
    conversation: ConversationModel;
    /**
     * One model per thread, shared with every chat view of the page: switching threads, or
     * leaving the app, leaves an answer that is streaming running (closing its stream would
     * stop it on the server).
     */
    private readonly models: Map<number, ConversationModel>;
    private unsubscribe: (() => void) | null = null;

    constructor(
        private readonly backend: ChatBackend,
        readonly scope: ChatScope = {},
    ) {
        this.models = liveConversations(backend);
        this.conversation = newConversation(backend);
    }

    private modelFor(id: number): ConversationModel {
        let model = this.models.get(id);
        if (!model) {
            model = newConversation(this.backend);
            this.models.set(id, model);
        }
        return model;
    }

    /** The app or panel is going away; its conversations, streaming or not, stay live. */
    close(): void {
        this.unsubscribe?.();
        this.unsubscribe = null;
    }

    get notConfigured(): boolean {
        return this.ready && !this.options.models.length;
    }

    /** Loads options and the list, then opens `threadId` (or nothing). */
    async start(threadId: number | null = null): Promise<void> {
        this.unsubscribe ??= this.backend.onGenerationState((change) =>
            this.onGenerationState(change),
        );
        const [options] = await Promise.all([
            this.backend.call<ChatOptions>("llm_ui_options", []),
            this.loadList(),
        ]);
        this.options = options;
        this.ready = true;
        if (threadId && this.threads.some((thread) => thread.id === threadId)) {
            await this.open(threadId);
        }
    }

    async loadList(): Promise<void> {
        this.threads = await this.backend.call<ThreadSummary[]>("llm_ui_list", [], {
            search: this.search,
            res_model: this.scope.resModel ?? false,
            res_id: this.scope.resId ?? false,
        });
        // The open thread's name too: the server may have named it after its first message.
        const open = this.conversation.thread;
        const listed = open && this.threads.find((t) => t.id === open.id);
        if (listed) {
            open.name = listed.name;
        }
    }

    async setSearch(search: string): Promise<void> {
        this.search = search;
        await this.loadList();
    }

    async open(id: number): Promise<void> {
        this.activeId = id;
        const model = this.modelFor(id);
        this.conversation = model;
        if (!model.streaming) {
            await model.load(id);
        }
        // A thread made elsewhere (backend form, import) may have no model yet: give it the
        // default one rather than refusing the first message.
        const fallback = this.options.models.find((m) => m.is_default) ?? this.options.models[0];
        const thread = this.conversation.thread;
        if (thread && !thread.model_id && !thread.auto_model && fallback) {
            await this.setModel(fallback.id);
        }
    }

    async create(): Promise<number> {
        const data = await this.backend.call<ThreadSummary & { messages: [] }>("llm_ui_create", [], {
            res_model: this.scope.resModel ?? false,
            res_id: this.scope.resId ?? false,
        });
        this.activeId = data.id;
        this.conversation = this.modelFor(data.id);
        this.conversation.setThread(data);
        await this.loadList();
        return data.id;
    }

    async rename(id: number, name: string): Promise<void> {
        await this.update(id, { name });
    }

    async remove(id: number): Promise<void> {
        await this.backend.call("llm_ui_delete", [[id]]);
        this.models.get(id)?.abortLocal();
        this.models.delete(id);
        if (this.activeId === id) {
            this.conversation = newConversation(this.backend);
            this.activeId = null;
        }
        await this.loadList();
    }

    async setModel(modelId: number): Promise<void> {
        const model = this.options.models.find((option) => option.id === modelId);
        if (model && this.activeId) {
            await this.update(this.activeId, {
                provider_id: model.provider_id,
                model_id: model.id,
                auto_model: false,
            });
        }
    }

    async setAutoModel(): Promise<void> {
        if (this.activeId) {
            await this.update(this.activeId, { auto_model: true });
        }
    }

    async setTools(names: string[]): Promise<void> {
        if (this.activeId) {
            await this.update(this.activeId, { tool_names: names });
        }
    }

    async link(resModel: string | false, resId: number | false): Promise<void> {
        if (!this.activeId) {
            return;
        }
        const summary = await this.backend.call<ThreadSummary>("llm_ui_link", [[this.activeId]], {
            res_model: resModel,
            res_id: resId,
        });
        this.applySummary(summary);
    }

    /** A generation started or ended in one of the user's threads, maybe in another tab. */
    private onGenerationState(change: GenerationStateChange): void {
        void this.models.get(change.thread_id)?.onGenerationState(change.state);
    }

    /**
     * Called after an answer, and once the first message of a thread is stored (the server
     * names the thread after it): names and order may have changed.
     */
    async refreshList(): Promise<void> {
        await this.loadList();
    }

    private async update(id: number, values: Record<string, unknown>): Promise<void> {
        // The route answers with read() values (many2one as [id, name]): keep what we sent.
        await this.backend.rpc(`/llm/thread/${id}/update`, { values });
        const thread = this.conversation.thread;
        if (thread && thread.id === id) {
            Object.assign(thread, values);
        }
        await this.loadList();
    }

    private applySummary(summary: ThreadSummary): void {
        const thread = this.conversation.thread;
        if (thread && thread.id === summary.id) {
            Object.assign(thread, summary);
        }
        const index = this.threads.findIndex((t) => t.id === summary.id);
        if (index !== -1) {
            this.threads[index] = summary;
        }
    }
}
