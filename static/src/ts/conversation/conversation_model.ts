import { _t } from "../core/l10n";
import { citationsFrom, citedIn } from "../message/citations";
import { totalUsage, usageFrom, type UsageView } from "../usage/usage";
import { GenerationRefused, type ChatBackend } from "./transport";
import type {
    ApprovalView,
    CitationView,
    GenerationState,
    MessageView,
    RecordLink,
    StoredMessage,
    ThreadData,
    ToolCallView,
} from "./types";

const BUSY: GenerationState[] = ["generating", "waiting"];

function newMessage(id: number, role: MessageView["role"], text = ""): MessageView {
    return {
        id,
        role,
        text,
        reasoning: "",
        reasoningSeconds: null,
        reasoningStartedAt: null,
        toolCalls: [],
        usage: null,
        error: "",
        stopped: false,
        done: true,
    };
}

/** The model moved on from reasoning: "Thought for N s", as the server stores it. */
function endReasoning(view: MessageView): void {
    if (view.reasoningStartedAt !== null && view.reasoningSeconds === null) {
        view.reasoningSeconds = Math.max(1, Math.round((Date.now() - view.reasoningStartedAt) / 1000));
    }
}

/** Records a tool call touched, read from its arguments ({model, id}) and result. */
export function recordsOf(args: Record<string, unknown>, result: string): RecordLink[] {
    const model = typeof args["model"] === "string" ? (args["model"] as string) : "";
    if (!model) {
        return [];
    }
    if (typeof args["id"] === "number") {
        return [{ model, id: args["id"], label: `${model} #${args["id"]}` }];
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(result);
    } catch {
        return [];
    }
    const rows = Array.isArray(parsed)
        ? parsed
        : Array.isArray((parsed as { records?: unknown })?.records)
          ? (parsed as { records: unknown[] }).records
          : [];
    const links: RecordLink[] = [];
    for (const row of rows.slice(0, 10)) {
        if (row && typeof row === "object" && typeof (row as { id?: unknown }).id === "number") {
            const { id, display_name: name } = row as { id: number; display_name?: unknown };
            links.push({ model, id, label: typeof name === "string" ? name : `${model} #${id}` });
        }
    }
    return links;
}

/** A call left waiting when the user wrote a new message: the server expired it. */
function expire(card: ToolCallView): void {
    card.status = "error";
    card.error = _t("Not run: a new message was sent instead of a decision.");
    if (card.approval) {
        card.approval.state = "expired";
    }
}

/** The turns shown for stored messages: tool results fold into their calling answer. */
export function messagesFromStore(stored: StoredMessage[]): MessageView[] {
    const views: MessageView[] = [];
    const calls = new Map<string, ToolCallView>();
    let citations: CitationView[] = [];
    for (const message of stored) {
        const data = message.data ?? {};
        if (message.role === "user") {
            views.push(newMessage(message.id, "user", message.text));
            citations = citationsFrom(data["knowledge"]);
        } else if (message.role === "assistant") {
            const view = newMessage(message.id, "assistant", message.text);
            view.citations = citedIn(message.text, citations);
            view.reasoning = data["reasoning"] ?? "";
            view.reasoningSeconds = data["reasoning_seconds"] ?? null;
            view.usage = usageFrom(data["usage"]);
            view.error = data["error"]?.message ?? "";
            view.stopped = Boolean(data["stopped"]);
            for (const call of data["tool_calls"] ?? []) {
                const card: ToolCallView = {
                    callId: call.id,
                    name: call.name,
                    arguments: call.arguments ?? {},
                    // No result stored: the run was interrupted before the tool answered.
                    status: "error",
                    result: "",
                    error: _t("Interrupted before the tool answered."),
                    records: [],
                    approval: data["approvals"]?.[call.id] ?? null,
                };
                if (card.approval?.state === "pending") {
                    card.status = "approval";
                    card.error = "";
                } else if (card.approval?.state === "expired") {
                    expire(card);
                }
                calls.set(call.id, card);
                view.toolCalls.push(card);
            }
            views.push(view);
        } else if (message.role === "tool") {
            const card = calls.get(data["tool_call_id"]);
            if (card) {
                const failed = Boolean(data["is_error"]);
                card.status = failed ? "error" : "done";
                card.result = failed ? "" : message.text;
                card.error = failed ? message.text : "";
                card.records = failed ? [] : recordsOf(card.arguments, message.text);
            }
        }
    }
    return views;
}

/**
 * One open conversation: its messages, the stream feeding them and the states a user must
 * never be confused by. Wrapped in OWL's `reactive()` by its owner, so every method mutates
 * through the proxy and components re-render on what they read.
 */
export class ConversationModel {
    thread: ThreadData | null = null;
    messages: MessageView[] = [];
    loading = false;
    /** This tab streams an answer. */
    streaming = false;
    /** Stop was asked; the server finishes the message, marked stopped. */
    stopping = false;
    /** Another tab or device is generating in this thread. */
    busyElsewhere = false;
    /** The last failure that is not tied to a message (refusal, lost connection). */
    notice = "";
    noticeCode = "";
    /** A monthly budget is at 80% or more (the "budget_warning" event of the last answer). */
    budgetWarning = "";
    /** Announced by the aria-live region when an answer is complete. */
    announcement = "";
    private controller: AbortController | null = null;
    private nextLocalId = -1;

    constructor(private readonly backend: ChatBackend) {}

    async load(threadId: number): Promise<void> {
        this.abortLocal();
        this.loading = true;
        try {
            const data = await this.backend.call<ThreadData>("llm_ui_load", [[threadId]]);
            this.setThread(data);
        } finally {
            this.loading = false;
        }
    }

    setThread(data: ThreadData): void {
        this.thread = data;
        this.messages = messagesFromStore(data.messages);
        this.budgetWarning = "";
        this.busyElsewhere = !this.streaming && BUSY.includes(data.generation_state);
        this.notice = "";
        this.noticeCode = "";
    }

    /**
     * The thread's state changed on the server. Our own stream reports its own generation;
     * anyone else's locks the composer until it ends, then the answer it wrote is loaded.
     */
    async onGenerationState(state: GenerationState): Promise<void> {
        if (!this.thread || this.streaming) {
            return;
        }
        this.thread.generation_state = state;
        if (BUSY.includes(state)) {
            this.busyElsewhere = true;
        } else {
            await this.refresh();
        }
    }

    /** Re-reads the thread, e.g. after another tab finished. */
    async refresh(): Promise<void> {
        if (this.thread && !this.streaming) {
            await this.load(this.thread.id);
        }
    }

    /** Tokens and cost of the whole conversation, as far as its answers recorded them. */
    get usage(): UsageView | null {
        return totalUsage(this.messages.map((message) => message.usage));
    }

    get canSend(): boolean {
        return Boolean(this.thread) && !this.streaming && !this.busyElsewhere;
    }

    async send(text: string): Promise<void> {
        const message = text.trim();
        if (!message || !this.canSend) {
            return;
        }
        for (const view of this.messages) {
            view.toolCalls.filter((c) => c.approval?.state === "pending").forEach(expire);
        }
        this.messages.push(newMessage(this.nextLocalId--, "user", message));
        await this.generate(message);
    }

    /** Runs the generation again on the stored history (after an error or a lost connection). */
    async retry(): Promise<void> {
        if (!this.canSend) {
            return;
        }
        await this.generate(null);
    }

    async stop(): Promise<void> {
        if (!this.thread || (!this.streaming && !this.busyElsewhere)) {
            return;
        }
        this.stopping = true;
        // Server-side stop: the provider call is cancelled and the partial answer saved; our
        // stream then ends with message_final(stopped) and done.
        await this.backend.rpc(`/llm/thread/${this.thread.id}/stop`, {});
        if (this.busyElsewhere) {
            await this.refresh();
        }
    }

    /** Forgets the stream here (the thread is being deleted, or loaded anew). */
    abortLocal(): void {
        this.controller?.abort();
        this.controller = null;
        this.streaming = false;
        this.stopping = false;
    }

    private async generate(message: string | null): Promise<void> {
        const thread = this.thread!;
        const controller = new AbortController();
        this.controller = controller;
        this.streaming = true;
        this.stopping = false;
        this.notice = "";
        this.noticeCode = "";
        this.budgetWarning = "";
        this.announcement = "";
        try {
            await this.backend.startGeneration({
                threadId: thread.id,
                message,
                signal: controller.signal,
                onEvent: (name, payload) => {
                    if (this.controller === controller) {
                        this.onEvent(name, payload);
                    }
                },
            });
            if (this.controller === controller && this.streaming) {
                // The body ended without "done": the server went away mid-answer.
                this.lostConnection();
            }
        } catch (error) {
            if (this.controller !== controller || controller.signal.aborted) {
                return;
            }
            if (error instanceof GenerationRefused) {
                this.refused(error, message);
            } else {
                this.lostConnection();
            }
        } finally {
            if (this.controller === controller) {
                this.controller = null;
                this.streaming = false;
                this.stopping = false;
            }
        }
    }

    private refused(error: GenerationRefused, message: string | null): void {
        this.noticeCode = error.code;
        this.notice = error.message;
        if (error.code === "already_generating") {
            this.busyElsewhere = true;
        }
        // The user's message was not stored: give it back to the composer's owner.
        if (message !== null) {
            const last = this.messages.at(-1);
            if (last && last.id < 0) {
                this.messages.pop();
            }
            this.rejectedMessage = message;
        }
    }

    /** The text of a message the server refused, for the composer to restore. */
    rejectedMessage = "";

    private lostConnection(): void {
        this.noticeCode = "connection_lost";
        this.notice = _t(
            "The connection was lost. The answer so far is kept; check your network, then retry.",
        );
        for (const view of this.messages) {
            if (!view.done) {
                view.done = true;
            }
        }
    }

    /** Tool calls still waiting for the owner's Approve or Deny. */
    get pendingApprovals(): number {
        let count = 0;
        for (const view of this.messages) {
            count += view.toolCalls.filter((c) => c.approval?.state === "pending").length;
        }
        return count;
    }

    /**
     * Records the owner's decision on a call; once no call waits any more, continues the
     * generation: approved calls run, denied ones go back to the model, which answers.
     */
    async decide(callId: string, approved: boolean): Promise<void> {
        if (!this.thread || this.streaming) {
            return;
        }
        const summary = await this.backend.rpc<Record<string, { state: ApprovalView["state"] }>>(
            `/llm/thread/${this.thread.id}/decide`,
            { call_id: callId, approved },
        );
        for (const view of this.messages) {
            for (const card of view.toolCalls) {
                // Only waiting cards: an older answer may have used the same call id.
                const decided = summary[card.callId];
                if (card.approval?.state === "pending" && decided) {
                    card.approval.state = decided.state;
                    if (decided.state !== "pending") {
                        card.status = "running";
                    }
                }
            }
        }
        if (!this.pendingApprovals) {
            await this.generate(null);
        }
    }

    /** The newest card of `callId`: some providers (Ollama) number calls anew per answer. */
    private card(callId: string): ToolCallView | undefined {
        for (let index = this.messages.length - 1; index >= 0; index--) {
            const card = this.messages[index]!.toolCalls.find((c) => c.callId === callId);
            if (card) {
                return card;
            }
        }
        return undefined;
    }

    private find(id: number): MessageView | undefined {
        for (let index = this.messages.length - 1; index >= 0; index--) {
            if (this.messages[index]!.id === id) {
                return this.messages[index];
            }
        }
        return undefined;
    }

    private answer(id: number): MessageView {
        let view = this.find(id);
        if (!view) {
            view = newMessage(id, "assistant");
            view.done = false;
            this.messages.push(view);
        }
        return view;
    }

    /** Applies one protocol event (models/llm_protocol.py EVENTS). */
    onEvent(name: string, payload: Record<string, any>): void {
        switch (name) {
            case "message_created": {
                if (payload["role"] === "user") {
                    const pending = this.messages.find((m) => m.id < 0 && m.role === "user");
                    if (pending) {
                        pending.id = payload["message_id"];
                    }
                } else if (payload["role"] === "assistant") {
                    this.answer(payload["message_id"]).done = false;
                }
                break;
            }
            case "text_delta": {
                const view = this.answer(payload["message_id"]);
                endReasoning(view);
                view.text += payload["text"];
                break;
            }
            case "reasoning_delta": {
                const view = this.answer(payload["message_id"]);
                view.reasoningStartedAt ??= Date.now();
                view.reasoning += payload["text"];
                break;
            }
            case "tool_call_started": {
                const view = this.answer(payload["message_id"]);
                view.toolCalls.push({
                    callId: payload["call_id"],
                    name: payload["name"],
                    arguments: payload["arguments"] ?? {},
                    status: "running",
                    result: "",
                    error: "",
                    records: [],
                    approval: null,
                });
                break;
            }
            case "approval_required": {
                const card = this.card(payload["call_id"]);
                if (card) {
                    card.status = "approval";
                    card.approval = { state: "pending", preview: payload["preview"] };
                }
                break;
            }
            case "tool_call_finished": {
                const card = this.card(payload["call_id"]);
                if (card) {
                    const failed = payload["error"] !== null && payload["error"] !== undefined;
                    card.status = failed ? "error" : "done";
                    card.result = payload["result"] ?? "";
                    card.error = payload["error"] ?? "";
                    card.records = failed ? [] : recordsOf(card.arguments, card.result);
                }
                break;
            }
            case "usage": {
                this.answer(payload["message_id"]).usage = usageFrom(payload);
                break;
            }
            case "budget_warning": {
                this.budgetWarning = payload["message"];
                break;
            }
            case "message_final": {
                const view = this.answer(payload["message_id"]);
                view.done = true;
                view.stopped = Boolean(payload["stopped"]);
                view.error = payload["error"] ?? "";
                endReasoning(view);
                break;
            }
            case "error": {
                const view =
                    payload["message_id"] !== null && payload["message_id"] !== undefined
                        ? this.find(payload["message_id"])
                        : undefined;
                if (view) {
                    view.error = payload["message"];
                    view.done = true;
                } else {
                    this.noticeCode = payload["code"];
                    this.notice = payload["message"];
                }
                break;
            }
            case "done": {
                for (const view of this.messages) {
                    view.done = true;
                }
                if (this.thread) {
                    this.thread.generation_state = payload["state"];
                }
                // Still busy after our stream ended: another request took the thread over.
                this.busyElsewhere = BUSY.includes(payload["state"]);
                this.streaming = false;
                this.stopping = false;
                this.announcement =
                    payload["state"] === "approval"
                        ? _t("An action waits for your approval.")
                        : _t("The answer is complete.");
                break;
            }
            default:
                break; // heartbeat, and events a newer server may add
        }
    }
}
