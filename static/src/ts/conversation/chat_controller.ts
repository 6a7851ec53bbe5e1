import { _t } from "../core/l10n";
import type { ConversationModel } from "./conversation_model";
import { liveConversations, newConversation } from "./live_conversations";
import type { ChatBackend, GenerationStateChange, ThreadListNotice } from "../core/transport";
import type {
    AssistantOption,
    ChatOptions,
    PromptSuggestion,
    Suggestion,
    ThreadData,
    ThreadSummary,
} from "./types";
/** The id of a draft conversation, one that exists on this page only (see newDraft()). */
const DRAFT_ID = 0;

export interface ChatScope {
    /** Only threads linked to this record (the chatter panel); new threads are linked to it. */
    resModel?: string;
    resId?: number;
}

/**
 * What the LLM Chat app and the chatter panel share: the user's thread list (optionally
 * scoped to one record), the open conversation and the pickers' options. Reactive.
 */
/** The message of a refused ORM call (Odoo's RPCError carries the server's in `data`). */
function refusalOf(error: unknown): string {
    const data: unknown = typeof error === "object" && error !== null && "data" in error ? error.data : null;
    const message: unknown = typeof data === "object" && data !== null && "message" in data ? data.message : "";
    return typeof message === "string" ? message : "";
}

export class ChatController {
    threads: ThreadSummary[] = [];
    search = "";
    /** The list shows the conversations Run Assistant actions started, instead of the
     * user's own (llm_ui_list's `automations`). */
    automations = false;
    activeId: number | null = null;
    options: ChatOptions = {
        models: [],
        tools: [],
        default_tool_names: [],
        assistants: [],
        can_configure: false,
    };
    /** The prompts offered on the open conversation's record (none without a record). */
    prompts: PromptSuggestion[] = [];
    ready = false;
    /** The open conversation (an empty one until a thread or a draft is opened). */
    conversation: ConversationModel;
    /**
     * One model per thread, shared with every chat view of the page: switching threads, or
     * leaving the app, leaves an answer that is streaming running (closing its stream would
     * stop it on the server).
     */
    private readonly models: Map<number, ConversationModel>;
    private unsubscribe: (() => void) | null = null;
    /** How many times the list was read: only the latest read is shown. */
    private listReads = 0;
    /** A read of the list for the bus's changes is under way / another is due after it. */
    private relisting = false;
    private relistAgain = false;
    /** The display name of the scope's record. */
    private scopeName = "";

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
        if (!this.unsubscribe) {
            const offState = this.backend.onGenerationState((change) => this.onGenerationState(change));
            const offList = this.backend.onThreadList((change) => this.onThreadList(change));
            this.unsubscribe = () => {
                offState();
                offList();
            };
        }
        const { resModel, resId } = this.scope;
        const [options, scopeRecord] = await Promise.all([
            this.backend.call<ChatOptions>("llm_ui_options", []),
            // Its name, for the drafts linked to it (their suggestions name it).
            resModel && resId
                ? this.backend.callModel<{ display_name: string }[]>(resModel, "read", [[resId], ["display_name"]])
                : [],
            this.loadList(),
        ]);
        this.options = options;
        this.scopeName = scopeRecord[0]?.display_name ?? "";
        this.ready = true;
        if (threadId) {
            try {
                // Listed or not: the list holds the latest conversations only.
                await this.open(threadId);
            } catch (error) {
                // Someone else's (a link a manager followed), or deleted: the server's one
                // gate says so, and whoever started us opens another conversation under it.
                this.activeId = null;
                this.models.delete(threadId);
                this.conversation = newConversation(this.backend);
                this.refusedOpening = refusalOf(error) || _t("This conversation could not be opened.");
            }
        }
    }

    /** Why the conversation asked for at start could not be opened; shown in the next one. */
    refusedOpening = "";

    async loadList(): Promise<void> {
        const read = ++this.listReads;
        const threads = await this.backend.call<ThreadSummary[]>("llm_ui_list", [], {
            search: this.search,
            res_model: this.scope.resModel ?? false,
            res_id: this.scope.resId ?? false,
            automations: this.automations,
        });
        // Reads overlap (a search typed while the bus tells of a change): the latest wins.
        if (read !== this.listReads) {
            return;
        }
        this.threads = threads;
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

    async setAutomations(automations: boolean): Promise<void> {
        this.automations = automations;
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
        const fallback = this.defaultModel;
        const thread = this.conversation.thread;
        if (thread && !thread.model_id && !thread.auto_model && fallback) {
            await this.setModel(fallback.id);
        }
        await this.loadPrompts();
    }

    /** The assistants offered in the open thread: those of its record's model, or of all;
     * in a test conversation, the assistant it tests too. */
    get assistants(): AssistantOption[] {
        const thread = this.conversation.thread;
        const resModel = thread?.res_model;
        return this.options.assistants.filter(
            (assistant) =>
                !assistant.offered_on.length ||
                (resModel && assistant.offered_on.includes(resModel)) ||
                assistant.id === thread?.test_assistant_id,
        );
    }

    get assistant(): AssistantOption | undefined {
        const id = this.conversation.thread?.assistant_id;
        return this.options.assistants.find((assistant) => assistant.id === id);
    }

    /** What an empty conversation offers: the record's prompts, then the assistant's. */
    get suggestions(): Suggestion[] {
        return [
            ...this.prompts.map((prompt) => ({ label: prompt.name, text: prompt.text })),
            ...(this.assistant?.starter_prompts ?? []).map((text) => ({ label: text, text })),
        ];
    }

    async setAssistant(assistantId: number | false): Promise<void> {
        const draft = this.draft;
        if (draft) {
            this.applyAssistantToDraft(draft, assistantId);
            return;
        }
        if (!this.activeId) {
            return;
        }
        const summary = await this.backend.call<ThreadSummary>(
            "llm_ui_set_assistant",
            [[this.activeId]],
            { assistant_id: assistantId },
        );
        this.applySummary(summary);
    }

    /**
     * A draft shows the assistant its first message will create it with: the default one
     * of its record's model (llm.assistant._llm_default_for), or the one picked, with the
     * model it sets (the server applies the same when it creates the thread).
     */
    /** As the server's llm.assistant._llm_default_for: one of the record's model first. */
    private defaultAssistant(resModel: string | false): AssistantOption | undefined {
        const defaults = this.options.assistants.filter(
            (assistant) =>
                assistant.is_default &&
                (!assistant.offered_on.length || (resModel && assistant.offered_on.includes(resModel))),
        );
        return defaults.find((assistant) => assistant.offered_on.length) ?? defaults[0];
    }

    private applyAssistantToDraft(draft: ThreadData, assistantId: number | false): void {
        const assistant = this.options.assistants.find((option) => option.id === assistantId);
        draft.assistant_id = assistant?.id ?? false;
        if (assistant?.tool_names.length) {
            draft.tool_names = [...assistant.tool_names];
        }
        const model = this.options.models.find((option) => option.id === assistant?.model_id);
        if (model) {
            Object.assign(draft, { provider_id: model.provider_id, model_id: model.id, auto_model: false });
        } else if (assistant?.auto_model) {
            draft.auto_model = true;
        }
    }

    private async loadPrompts(): Promise<void> {
        const thread = this.conversation.thread;
        // About no record (the LLM Chat app's own): the prompts that need none.
        const linked = Boolean(thread?.res_model && thread.res_id);
        this.prompts = thread
            ? await this.backend.call<PromptSuggestion[]>("llm_ui_prompts", [], {
                  res_model: linked ? thread.res_model : false,
                  res_id: linked ? thread.res_id : false,
              })
            : [];
    }

    /**
     * Opens a new conversation as a draft: it exists on this page only (the header's choices
     * included) until its first message creates it on the server, named after that message.
     * Clicking New again and again leaves no empty conversations behind.
     */
    async newDraft(): Promise<void> {
        const model = this.defaultModel;
        const draft: ThreadData = {
            id: DRAFT_ID,
            name: _t("New conversation"),
            write_date: "",
            provider_id: model?.provider_id ?? false,
            model_id: model?.id ?? false,
            model_name: model?.name ?? "",
            auto_model: false,
            tool_names: [...this.options.default_tool_names],
            assistant_id: false,
            assistant_name: "",
            res_model: this.scope.resModel ?? false,
            res_id: this.scope.resId ?? false,
            record_name: this.scopeName,
            generation_state: "idle",
            generation_error: "",
            messages: [],
        };
        this.applyAssistantToDraft(draft, this.defaultAssistant(draft.res_model)?.id ?? false);
        const conversation = newConversation(this.backend);
        conversation.setThread(draft);
        conversation.createThread = () => this.createFromDraft(conversation);
        conversation.discardCreated = () => this.discardCreated(conversation, draft);
        this.activeId = null;
        this.conversation = conversation;
        await this.loadPrompts();
    }

    /** The draft's first message is being sent: the thread is created as the draft shows it. */
    private async createFromDraft(conversation: ConversationModel): Promise<void> {
        const draft = conversation.thread!;
        const data = await this.backend.call<ThreadData>("llm_ui_create", [], {
            res_model: draft.res_model,
            res_id: draft.res_id,
            values: {
                provider_id: draft.provider_id,
                model_id: draft.model_id,
                auto_model: draft.auto_model,
                tool_names: draft.tool_names,
                knowledge_source_ids: draft.knowledge_source_ids ?? [],
                assistant_id: draft.assistant_id,
            },
        });
        conversation.setThread(data);
        this.models.set(data.id, conversation);
        // Still the open one? (Compared by key: reactive proxies of one model differ.)
        if (this.conversation.key === conversation.key) {
            this.activeId = data.id;
        }
        await this.loadList();
    }

    /** The draft's first message was refused: its thread goes, the draft is back as it was. */
    private async discardCreated(conversation: ConversationModel, draft: ThreadData): Promise<void> {
        const id = conversation.thread!.id;
        await this.backend.call("llm_ui_delete", [[id]]);
        this.models.delete(id);
        conversation.setThread(draft);
        conversation.createThread = () => this.createFromDraft(conversation);
        if (this.conversation.key === conversation.key) {
            this.activeId = null;
        }
        await this.loadList();
    }

    /**
     * Sends `question` as the first message of the open conversation, a new draft (Ask AI
     * from the command palette), as its composer sends one: the thread is created by it,
     * and every check of a send applies. With no model to answer, the question waits in
     * the composer under the not-configured notice instead.
     */
    async ask(question: string): Promise<void> {
        const conversation = this.conversation;
        if (this.notConfigured) {
            conversation.rejectedMessage = question;
            return;
        }
        await conversation.send(question, () => void this.refreshList());
        await this.refreshList();
    }

    /** The chat model a new conversation starts with. */
    private get defaultModel() {
        return this.options.models.find((m) => m.is_default) ?? this.options.models[0];
    }

    async rename(id: number, name: string): Promise<void> {
        await this.update(id, { name });
    }

    async remove(id: number): Promise<void> {
        await this.backend.call("llm_ui_delete", [[id]]);
        this.models.get(id)?.abortLocal();
        this.models.delete(id);
        await this.loadList();
        if (this.activeId === id) {
            await this.newDraft();
        }
    }

    async setModel(modelId: number): Promise<void> {
        const model = this.options.models.find((option) => option.id === modelId);
        if (model) {
            await this.updateOpen({ provider_id: model.provider_id, model_id: model.id, auto_model: false });
        }
    }

    async setAutoModel(): Promise<void> {
        await this.updateOpen({ auto_model: true });
    }

    async setTools(names: string[]): Promise<void> {
        await this.updateOpen({ tool_names: names });
    }

    async setSources(ids: number[]): Promise<void> {
        await this.updateOpen({ knowledge_source_ids: ids });
    }

    /** `name`: the record's display name, shown by a draft until it is created. */
    async link(resModel: string | false, resId: number | false, name = ""): Promise<void> {
        const draft = this.draft;
        if (draft) {
            Object.assign(draft, { res_model: resModel, res_id: resId, record_name: resModel ? name : "" });
            if (!this.assistants.some((assistant) => assistant.id === draft.assistant_id)) {
                this.applyAssistantToDraft(draft, this.defaultAssistant(resModel)?.id ?? false);
            }
            await this.loadPrompts();
            return;
        }
        if (!this.activeId) {
            return;
        }
        const summary = await this.backend.call<ThreadSummary>("llm_ui_link", [[this.activeId]], {
            res_model: resModel,
            res_id: resId,
        });
        this.applySummary(summary);
        await this.loadPrompts();
    }

    /** A generation started or ended in one of the user's threads, maybe in another tab. */
    private onGenerationState(change: GenerationStateChange): void {
        const listed = this.threads.find((thread) => thread.id === change.thread_id);
        if (listed) {
            listed.generation_state = change.state;
        }
        const model = this.models.get(change.thread_id);
        // Another tab's first question named the conversation (not this tab's: it reads the
        // list when its message is stored), and an automation's conversation that waits for
        // the user's approval joins their list.
        if (listed ? change.state === "generating" && !model?.streaming : change.state === "approval") {
            this.relist();
        }
        void model?.onGenerationState(change.state);
    }

    /**
     * Reads the list again for changes the bus told of: one read at a time, and one more
     * after it for whatever came meanwhile, however many come (an automation rule started
     * on a thousand records creates a thousand conversations).
     */
    private relist(): void {
        if (this.relisting) {
            this.relistAgain = true;
            return;
        }
        this.relisting = true;
        void (async () => {
            try {
                do {
                    this.relistAgain = false;
                    await this.loadList();
                } while (this.relistAgain);
            } catch {
                // Not read (the network): the next change, or the next answer, reads it.
            } finally {
                this.relisting = false;
            }
        })();
    }

    /** A conversation of the user was created, renamed or deleted, maybe in another tab. */
    private onThreadList(change: ThreadListNotice): void {
        if (change.change === "deleted") {
            // Still shown where it is open, saying so: sending there could only fail.
            this.models.get(change.thread_id)?.markDeleted();
            this.models.delete(change.thread_id);
        }
        this.relist();
    }

    /**
     * Called after an answer, and once the first message of a thread is stored (the server
     * names the thread after it): names and order may have changed.
     */
    async refreshList(): Promise<void> {
        await this.loadList();
        // The server names a conversation after its first message (llm.thread._llm_name_after).
        const open = this.conversation.thread;
        const listed = open && this.threads.find((thread) => thread.id === open.id);
        if (open && listed) {
            open.name = listed.name;
        }
    }

    /** The open draft's thread data, if the open conversation is a draft. */
    private get draft(): ThreadData | null {
        const thread = this.conversation.thread;
        return thread?.id === DRAFT_ID ? thread : null;
    }

    /** Changes the open conversation: a draft keeps the values until it is created. */
    private async updateOpen(values: Partial<ThreadData>): Promise<void> {
        const draft = this.draft;
        if (draft) {
            Object.assign(draft, values);
        } else if (this.activeId) {
            await this.update(this.activeId, values);
        }
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
