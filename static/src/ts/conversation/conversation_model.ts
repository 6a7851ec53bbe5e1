import { _t } from "../core/l10n";
import { serverNow } from "../message/message_date";
import { citationsFrom, citedIn } from "../message/citations";
import { totalUsage, usageFrom, type UsageView } from "../usage/usage";
import { BUSY_STATES, ERROR_CODES, type EventPayload, type StreamEvent } from "../stream/protocol";
import { announceChanged } from "./record_changes";
import { GenerationRefused, UploadRefused, type ChatBackend, type GenerationRequest } from "../core/transport";
import { pendingFrom, type PendingAttachment } from "../composer/attachments";
import type {
    ApprovalPreview,
    AttachmentView,
    ApprovalView,
    FeedbackView,
    CitationView,
    GenerationState,
    MessageView,
    RecordLink,
    RefusedEdit,
    StoredMessage,
    ThreadData,
    ToolCallView,
} from "./types";

/** Waits before following again after the connection dropped mid-answer (then: give up). */
const RECONNECT_DELAYS_MS = [250, 1000, 2000, 4000, 8000];
let lastKey = 0;

/** What a stream writes into a message, empty. */
function blankContent() {
    return {
        text: "",
        reasoning: "",
        reasoningSeconds: null,
        reasoningStartedAt: null,
        toolCalls: [],
        usage: null,
        error: "",
        errorDetail: "",
        finishReason: "",
        stopped: false,
        interrupted: false,
    };
}

function newMessage(id: number, role: MessageView["role"], text = "", date = serverNow()): MessageView {
    return { id, role, ...blankContent(), text, done: true, date, versions: [], feedback: null };
}

/** The model moved on from reasoning: "Thought for N s", as the server stores it. */
function endReasoning(view: MessageView): void {
    if (view.reasoningStartedAt !== null && view.reasoningSeconds === null) {
        view.reasoningSeconds = Math.max(1, Math.round((Date.now() - view.reasoningStartedAt) / 1000));
    }
}

/** Empties a shown answer that a stream is about to rebuild from its start. */
function restart(view: MessageView): void {
    Object.assign(view, blankContent());
}

/** The record links of a tool result, as the server sent them (llm.tool._llm_touched_records). */
export function linksFrom(value: unknown): RecordLink[] {
    if (!Array.isArray(value)) {
        return [];
    }
    return value.filter(
        (link): link is RecordLink =>
            typeof link?.model === "string" &&
            typeof link.id === "number" &&
            typeof link.label === "string" &&
            typeof link.changed === "boolean",
    );
}

/** Where the `codePoints`-th character of `text` starts in UTF-16 units (Python counts code
 * points, JavaScript strings UTF-16 units: they differ after an emoji). */
export function utf16Offset(text: string, codePoints: number): number {
    let index = 0;
    for (let count = 0; count < codePoints && index < text.length; count++) {
        index += text.codePointAt(index)! > 0xffff ? 2 : 1;
    }
    return index;
}

/** A call left waiting when the user wrote a new message: the server expired it. */
function expire(card: ToolCallView): void {
    card.status = "error";
    card.error = _t("Not run: a new message was sent instead of a decision.");
    if (card.approval) {
        card.approval.state = "expired";
    }
}


/**
 * `total` less `shown` (both sums of usage lines): the usage of the calls not among the
 * messages shown; null when there is none. Its cost is null when either's is unknown or
 * they are in different currencies, which makes the conversation's total cost unknown too.
 */
export function usageBeyond(total: UsageView | null, shown: UsageView | null): UsageView | null {
    if (!total || !shown) {
        return total;
    }
    const input = Math.max(0, total.input - shown.input);
    const output = Math.max(0, total.output - shown.output);
    const sameMoney = total.cost !== null && shown.cost !== null && total.currency === shown.currency;
    // Sums of floats: what is left of equal sums is rounding, not a call.
    const cost = sameMoney ? Math.max(0, total.cost! - shown.cost!) : null;
    if (!input && !output && cost !== null && cost < 1e-9) {
        return null;
    }
    return { ...total, input, output, cost: cost !== null && cost < 1e-9 ? 0 : cost };
}

/** The turns shown for stored messages: tool results fold into their calling answer. */
export function messagesFromStore(stored: StoredMessage[]): MessageView[] {
    const views: MessageView[] = [];
    const calls = new Map<string, ToolCallView>();
    let citations: CitationView[] = [];
    for (const message of stored) {
        const data = message.data ?? {};
        if (message.role === "user") {
            const view = newMessage(message.id, "user", message.text, message.date);
            view.versions = message.versions ?? [];
            view.attachments = message.attachments ?? [];
            views.push(view);
            citations = citationsFrom(data["knowledge"]);
            view.knowledge = citations;
        } else if (message.role === "assistant") {
            const view = newMessage(message.id, "assistant", message.text, message.date);
            view.versions = message.versions ?? [];
            view.feedback = message.feedback ?? null;
            view.citations = citedIn(message.text, citations);
            view.reasoning = data["reasoning"] ?? "";
            view.reasoningSeconds = data["reasoning_seconds"] ?? null;
            view.usage = usageFrom(data["usage"]);
            view.error = data["error"]?.message ?? "";
            view.errorDetail = data["error"]?.detail ?? "";
            view.finishReason = data["finish_reason"] ?? "";
            view.stopped = Boolean(data["stopped"]);
            // Saved on the way (engine/turn.py Turn.data) and never finalised.
            view.interrupted = Boolean(data["interrupted"]);
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
                    // Answers stored without offsets: the model wrote its text, then called.
                    textOffset:
                        typeof call.offset === "number"
                            ? utf16Offset(message.text, call.offset)
                            : message.text.length,
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
            const card = data.tool_call_id === undefined ? undefined : calls.get(data.tool_call_id);
            if (card) {
                const failed = Boolean(data["is_error"]);
                card.status = failed ? "error" : "done";
                card.result = failed ? "" : message.text;
                card.error = failed ? message.text : "";
                card.records = failed ? [] : linksFrom(data["records"]);
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
    /** Tells this conversation from any other in the views' t-key, a draft's before and after it is created. */
    readonly key = ++lastKey;
    thread: ThreadData | null = null;
    messages: MessageView[] = [];
    loading = false;
    /** This tab follows an answer being written (its own, or one started elsewhere). */
    streaming = false;
    /** Stop was asked; the server finishes the message, marked stopped. */
    stopping = false;
    /** Another tab or device is generating in this thread and this tab could not follow it. */
    busyElsewhere = false;
    /** Deleted in another tab or device (Odoo's bus): shown as it was, nothing can be sent. */
    deleted = false;
    /** The last failure that is not tied to a message (refusal, lost connection). */
    notice = "";
    noticeCode = "";
    /** A monthly budget is at 80% or more (the last answer's "budget_warning" event, or the
     * thread's data when it was read). */
    budgetWarning = "";
    /** Announced by the aria-live region when an answer is complete. */
    announcement = "";
    /** Seconds left before the provider is asked again (the "retrying" event); null otherwise. */
    retryIn: number | null = null;
    /** Stop was pressed during the last generation (before its answer started, if none shows). */
    stoppedBeforeAnswer = false;
    private retryTimer: ReturnType<typeof setInterval> | null = null;
    /** The calls of the thread whose messages are not shown (see `usage`). */
    private unshownUsage: UsageView | null = null;
    /**
     * Set on a draft (ChatController.newDraft): creates the thread on the server before its
     * first message is sent (the server names it after that message).
     */
    createThread: (() => Promise<void>) | null = null;
    /**
     * Set with `createThread`: deletes the thread it created and makes this a draft again.
     * Called when the server refused that first message before storing it (too long, no
     * model fits...), so that a refusal leaves no empty conversation in the list.
     */
    discardCreated: (() => Promise<void>) | null = null;
    /** The last generation was refused before the server stored anything. */
    private refusedBeforeStoring = false;
    /** The draft's thread is being created: no second message meanwhile. */
    creating = false;
    /** A message's attachments are being uploaded: no second message meanwhile. */
    uploading = false;
    private controller: AbortController | null = null;
    /** The id of the last stream event applied: a reconnect resumes after it. */
    private lastEventId: string | null = null;
    private nextLocalId = -1;
    /** How many times the thread was read (`load`): only the latest read is shown. */
    private reads = 0;

    constructor(private readonly backend: ChatBackend) {}

    /** `follow`: follow the answer being written, if any (not when a follow just ended). */
    async load(threadId: number, { follow = true } = {}): Promise<void> {
        this.abortLocal();
        const read = ++this.reads;
        this.loading = true;
        try {
            const data = await this.backend.call<ThreadData>("llm_ui_load", [[threadId]]);
            // A question sent (the conversation opened again, or another tab's end read it
            // while the user typed), or a newer read begun, while this one was under way: its
            // data is older than what shows, and the question would vanish. The answer's end
            // reads the thread again.
            if (read !== this.reads || this.streaming) {
                return;
            }
            this.setThread(data);
        } finally {
            if (read === this.reads) {
                this.loading = false;
            }
        }
        if (follow && this.thread && BUSY_STATES.includes(this.thread.generation_state)) {
            // Being written (a reload mid-answer, another tab's question): follow it live.
            void this.follow();
        }
    }

    setThread(data: ThreadData): void {
        this.thread = data;
        this.deleted = false; // a draft again, its first message's thread deleted
        this.messages = messagesFromStore(data.messages);
        // What the server's total has beyond the messages shown: kept as is while the shown
        // ones change live (an answer streaming adds its own usage when it ends).
        this.unshownUsage = usageBeyond(
            usageFrom(data.usage ? { ...data.usage } : null),
            totalUsage(this.messages.map((message) => message.usage)),
        );
        this.budgetWarning = data.budget_warning ?? "";
        this.busyElsewhere = !this.streaming && BUSY_STATES.includes(data.generation_state);
        const last = this.messages.at(-1);
        if (last && this.busyElsewhere) {
            last.interrupted = false; // saved on the way: still being written elsewhere
        }
        // Refused for an answer written elsewhere: said while it is written (the message waits
        // in the composer), not wiped by the reload that shows that answer.
        if (!(this.busyRefusal && BUSY_STATES.includes(data.generation_state))) {
            this.notice = "";
            this.noticeCode = "";
        }
    }

    /** The last message was refused because an answer is written elsewhere (another tab). */
    private get busyRefusal(): boolean {
        return this.noticeCode === ERROR_CODES.alreadyGenerating;
    }

    /**
     * The thread's state changed on the server. Our own stream reports its own generation;
     * anyone else's (another tab, a device, an automation) is followed live from here.
     */
    async onGenerationState(state: GenerationState): Promise<void> {
        if (!this.thread || this.streaming) {
            return;
        }
        this.thread.generation_state = state;
        // Read again first, also when it starts: the question another tab just sent is
        // stored, and the answer shows under it (the stream gives only its id).
        await this.refresh();
    }

    /**
     * Follows the thread's running generation: what it wrote so far, then live, until it
     * ends; then the thread is read again (versions, dates and citations are the server's).
     */
    async follow(): Promise<void> {
        if (!this.thread || this.streaming) {
            return;
        }
        const { notice, noticeCode } = this;
        const controller = this.beginStream();
        if (noticeCode === ERROR_CODES.alreadyGenerating) {
            Object.assign(this, { notice, noticeCode }); // see setThread
        }
        this.lastEventId = null;
        try {
            await this.followAfterLoss(controller, false);
        } finally {
            this.endStream(controller);
        }
        if (this.controller === null && !controller.signal.aborted) {
            // Still busy after the follow ended: a generation this tab cannot follow (another
            // request took the thread over); the bus tells when it ends.
            const { notice, noticeCode } = this;
            await this.refresh({ follow: false });
            Object.assign(this, { notice, noticeCode });
        }
    }

    /** Re-reads the thread, e.g. after another tab finished. */
    async refresh({ follow = true } = {}): Promise<void> {
        if (this.thread && !this.streaming) {
            await this.load(this.thread.id, { follow });
        }
    }

    /**
     * Tokens and cost of every call of the conversation: the messages shown, live, plus the
     * calls whose messages are not shown (earlier versions of regenerated answers and edited
     * questions), billed all the same.
     */
    get usage(): UsageView | null {
        return totalUsage([this.unshownUsage, ...this.messages.map((message) => message.usage)]);
    }

    get canSend(): boolean {
        return (
            Boolean(this.thread) && !this.streaming && !this.busyElsewhere && !this.creating && !this.uploading &&
            !this.deleted
        );
    }

    /** Our stream runs and nothing shows its progress yet: no answer streams, no tool runs. */
    get awaitingAnswer(): boolean {
        return (
            this.streaming &&
            !this.messages.some((m) => !m.done || m.toolCalls.some((c) => c.status === "running"))
        );
    }

    /** The last message is a stored question without an answer (stopped before it started). */
    get unanswered(): boolean {
        const last = this.messages.at(-1);
        return (
            !this.streaming && !this.busyElsewhere && !this.notice && last?.role === "user" && last.id > 0
        );
    }

    /**
     * `onStored`: called once the server stored the message (the stream's first event).
     * `attachments` are uploaded first (those not uploaded yet), then sent with the message,
     * which may be them alone (no text).
     */
    async send(text: string, onStored?: () => void, attachments: PendingAttachment[] = []): Promise<void> {
        const message = text.trim();
        if ((!message && !attachments.length) || !this.canSend) {
            return;
        }
        const fromDraft = this.createThread !== null;
        if (fromDraft && !(await this.createDraft(message, attachments))) {
            return;
        }
        for (const view of this.messages) {
            view.toolCalls.filter((c) => c.approval?.state === "pending").forEach(expire);
        }
        this.messages.push(newMessage(this.nextLocalId--, "user", message));
        let uploaded: AttachmentView[] = [];
        if (attachments.length) {
            // Not awaited without attachments: the generation starts in this very call.
            const result = await this.upload(attachments, (pending) => {
                this.rejectedMessage = message;
                this.rejectedAttachments = pending;
            });
            if (!result) {
                if (fromDraft) {
                    await this.undoCreation(message, attachments);
                }
                return;
            }
            uploaded = result;
            // Through the reactive array: the view pushed above is the proxy's target.
            this.messages.at(-1)!.attachments = uploaded;
        }
        await this.generate(message, { onStored, attachments: uploaded });
        if (fromDraft && this.refusedBeforeStoring) {
            await this.undoCreation(message, attachments);
        }
    }

    /**
     * The draft's first message was refused (an upload, or the generation, before anything
     * was stored): the thread created for it is deleted again, so that a conversation exists
     * only once its first message does, instead of piling up as an empty "New conversation".
     * Its uploads go with it (the ORM deletes a record's attachments), so the composer gets
     * the files it sent back as files, uploaded anew with the thread the next send creates.
     */
    private async undoCreation(message: string, attachments: PendingAttachment[]): Promise<void> {
        if (!this.discardCreated) {
            return;
        }
        const { notice, noticeCode, rejectedMessage, rejectedAttachments } = this;
        // Set synchronously after the refusal, before any render: the composer is given
        // nothing while the thread changes (it clears itself then, revoking the thumbnails of
        // what it holds), then the message and files once the draft is back.
        this.rejectedMessage = "";
        this.rejectedAttachments = [];
        try {
            await this.discardCreated();
        } catch {
            // Not deleted (the network): the thread stays, with what was uploaded to it.
            Object.assign(this, { notice, noticeCode, rejectedMessage, rejectedAttachments: [...rejectedAttachments] });
            return;
        }
        Object.assign(this, { notice, noticeCode, rejectedMessage: message, rejectedAttachments: [...attachments] });
    }

    /**
     * Uploads what is not uploaded yet, in order, for the message just shown (the last one);
     * null when one fails: that message is taken back, the notice says why (every refused
     * file at once), and `rejected` gets the attachments back, those uploaded kept.
     */
    private async upload(
        attachments: PendingAttachment[],
        rejected: (pending: PendingAttachment[]) => void,
    ): Promise<AttachmentView[] | null> {
        const thread = this.thread!;
        const pending = [...attachments];
        const refusals: string[] = [];
        this.uploading = true;
        try {
            for (const [index, attachment] of pending.entries()) {
                try {
                    if (attachment.file) {
                        pending[index] = pendingFrom(await this.backend.upload(thread.id, attachment.file));
                    }
                } catch (error) {
                    if (!(error instanceof UploadRefused)) {
                        throw error;
                    }
                    refusals.push(error.message); // and the next files are checked too
                }
            }
        } catch {
            refusals.push(_t("The files could not be uploaded. Check your connection, then send again."));
        } finally {
            this.uploading = false;
        }
        if (refusals.length) {
            this.messages.pop();
            this.noticeCode = "upload_refused";
            this.notice = refusals.join(" ");
            rejected(pending);
            return null;
        }
        return pending.map(({ id, name, mimetype }) => ({ id: id!, name, mimetype }));
    }

    /** Creates the draft's thread; on failure, says so and gives the message back. */
    private async createDraft(message: string, attachments: PendingAttachment[]): Promise<boolean> {
        const create = this.createThread!;
        this.creating = true;
        try {
            await create();
            this.createThread = null;
            return true;
        } catch {
            this.noticeCode = "not_created";
            this.notice = _t("The conversation could not be created. Check your connection, then send again.");
            this.rejectedMessage = message;
            this.rejectedAttachments = attachments;
            return false;
        } finally {
            this.creating = false;
        }
    }

    /**
     * Runs the generation again on the stored history (after an error or a lost connection).
     * A failed answer is regenerated: it becomes an earlier version instead of staying in the
     * conversation above the new one; one still cut by the length limit (its continuation
     * failed before adding a word) is continued again.
     */
    async retry(): Promise<void> {
        if (!this.canSend) {
            return;
        }
        const last = this.messages.at(-1);
        const failed = last?.role === "assistant" && last.id > 0 && last.error ? last : undefined;
        if (failed?.finishReason === "length") {
            await this.continueAnswer(failed.id);
        } else if (failed) {
            await this.regenerate(failed.id);
        } else {
            await this.generate(null);
        }
    }

    async stop(): Promise<void> {
        if (!this.thread || (!this.streaming && !this.busyElsewhere)) {
            return;
        }
        this.stopping = true;
        this.stoppedBeforeAnswer = true;
        // Server-side stop: the provider call is cancelled and the partial answer saved; our
        // stream then ends with message_final(stopped) and done.
        await this.backend.rpc(`/llm/thread/${this.thread.id}/stop`, {});
        if (this.busyElsewhere) {
            await this.refresh();
        }
    }

    /** Forgets the stream here (the thread is being deleted, or loaded anew). */
    /** The thread was deleted elsewhere: said where it shows, instead of a refused send. */
    markDeleted(): void {
        this.abortLocal();
        this.deleted = true;
        this.noticeCode = "deleted";
        this.notice = _t("This conversation was deleted in another tab or window. Start a new one with New.");
    }

    abortLocal(): void {
        this.controller?.abort();
        this.controller = null;
        this.streaming = false;
        this.stopping = false;
        this.stoppedBeforeAnswer = false;
        this.endRetry();
    }

    /** The provider is asked again in `seconds`: count them down for the waiting note. */
    private startRetry(seconds: number): void {
        this.endRetry();
        this.retryIn = Math.max(1, Math.ceil(seconds));
        this.retryTimer = setInterval(() => {
            if (this.retryIn !== null && this.retryIn > 1) {
                this.retryIn -= 1;
            } else {
                this.endRetry();
            }
        }, 1000);
    }

    private endRetry(): void {
        if (this.retryTimer !== null) {
            clearInterval(this.retryTimer);
            this.retryTimer = null;
        }
        this.retryIn = null;
    }

    /** Answers the question of answer `id` again; the old answer stays as a version. */
    async regenerate(id: number): Promise<void> {
        const index = this.messages.findIndex((view) => view.id === id);
        let question = -1;
        for (let i = 0; i < index; i++) {
            question = this.messages[i]!.role === "user" ? i : question;
        }
        if (question === -1 || !this.canSend) {
            return;
        }
        // A failed step after tool calls is answered again from their results, which stay
        // (the server's rule: LlmThreadActions._llm_check_action).
        const before = this.messages[index - 1];
        const resumed = this.messages[index]!.error && before?.role === "assistant" && before.toolCalls.length > 0;
        this.messages.splice(resumed ? index : question + 1);
        await this.runAction(null, { kind: "regenerate", messageId: id });
    }

    /**
     * Replaces question `id` by `text` with `attachments` (those of the edit box: kept ones of
     * the question, new ones uploaded first; none when empty) and answers it; the old one
     * stays as a version. A refused edit goes back to its box as it was, files included.
     */
    async editAndResend(id: number, text: string, attachments: PendingAttachment[] = []): Promise<void> {
        const message = text.trim();
        const index = this.messages.findIndex((view) => view.id === id);
        if ((!message && !attachments.length) || index === -1 || !this.canSend) {
            return;
        }
        this.messages.splice(index, this.messages.length - index, newMessage(this.nextLocalId--, "user", message));
        const uploaded = await this.upload(attachments, (pending) => {
            this.refusedEdit = { id, text: message, attachments: pending };
        });
        if (!uploaded) {
            // The conversation as it was, the notice and the edit box kept.
            const { notice, noticeCode } = this;
            await this.refresh();
            Object.assign(this, { notice, noticeCode });
            return;
        }
        this.messages.at(-1)!.attachments = uploaded;
        await this.runAction(message, { kind: "edit", messageId: id }, uploaded);
    }

    /** Asks the model to go on with answer `id`, cut by the length limit: same message. */
    async continueAnswer(id: number): Promise<void> {
        const view = this.find(id);
        if (!view || !this.canSend) {
            return;
        }
        view.done = false;
        view.finishReason = "";
        await this.runAction(null, { kind: "continue", messageId: id });
    }

    /** Shows another version of a message (the server makes it the one the model sees). */
    async switchVersion(id: number): Promise<void> {
        if (!this.thread || !this.canSend) {
            return;
        }
        this.setThread(await this.backend.call<ThreadData>("llm_ui_switch_version", [[this.thread.id], id]));
    }

    /** The partners mail suggests as recipients of a message on the linked record. */
    async suggestedRecipients(): Promise<number[]> {
        return this.thread ? this.backend.call<number[]>("llm_ui_recipients", [[this.thread.id]]) : [];
    }

    /** Rates answer `id` (null clears the rating), with an optional comment. */
    async rate(id: number, rating: FeedbackView["rating"] | null, comment = ""): Promise<void> {
        const view = this.find(id);
        if (!this.thread || !view) {
            return;
        }
        view.feedback = await this.backend.call<FeedbackView | null>(
            "llm_ui_feedback",
            [[this.thread.id], id, rating ?? false],
            { comment },
        );
    }

    /**
     * Runs a regenerate / edit / continue generation, then reloads the thread: its versions
     * and the continued answer's summed usage are the server's. A notice survives the reload.
     */
    private async runAction(
        message: string | null,
        action: GenerationRequest["action"],
        attachments: AttachmentView[] = [],
    ): Promise<void> {
        await this.generate(message, { action, attachments });
        const { notice, noticeCode, rejectedMessage } = this;
        await this.refresh();
        Object.assign(this, { notice, noticeCode, rejectedMessage });
    }

    /** `onStored`: called once the server stored the user's message (the stream's first event). */
    private async generate(
        message: string | null,
        {
            action,
            onStored,
            attachments = [],
        }: {
            action?: GenerationRequest["action"];
            onStored?: (() => void) | undefined;
            attachments?: AttachmentView[];
        } = {},
    ): Promise<void> {
        const thread = this.thread!;
        const controller = this.beginStream();
        this.lastEventId = null;
        this.refusedBeforeStoring = false;
        try {
            await this.backend.startGeneration({
                threadId: thread.id,
                message,
                ...(attachments.length ? { attachmentIds: attachments.map((a) => a.id) } : {}),
                ...(action ? { action } : {}),
                signal: controller.signal,
                onEvent: this.eventHandler(controller, (name, payload) => {
                    if (name === "message_created" && (payload as EventPayload<"message_created">).role === "user") {
                        onStored?.();
                    }
                }),
            });
            if (this.controller === controller && this.streaming) {
                await this.connectionLost(controller); // the body ended without "done"
            }
        } catch (error) {
            if (this.controller !== controller || controller.signal.aborted) {
                return;
            }
            if (error instanceof GenerationRefused) {
                this.refused(error, message, attachments, action);
            } else {
                await this.connectionLost(controller);
            }
        } finally {
            this.endStream(controller);
        }
    }

    /** The stream broke mid-answer: the answer goes on on the server, so follow it again
     * from the last event seen; with nothing seen (the send itself failed), say so. */
    private async connectionLost(controller: AbortController): Promise<void> {
        if (this.lastEventId === null) {
            this.lostConnection();
        } else {
            await this.followAfterLoss(controller, true);
        }
    }

    private beginStream(): AbortController {
        const controller = new AbortController();
        this.controller = controller;
        this.streaming = true;
        this.busyElsewhere = false;
        this.stopping = false;
        this.stoppedBeforeAnswer = false;
        this.refusedEdit = null;
        this.notice = "";
        this.noticeCode = "";
        this.budgetWarning = "";
        this.announcement = "";
        return controller;
    }

    private endStream(controller: AbortController): void {
        if (this.controller === controller) {
            this.controller = null;
            this.streaming = false;
            this.stopping = false;
            this.endRetry();
        }
    }

    /** The stream's events for this model while `controller` is the current stream. */
    private eventHandler(
        controller: AbortController,
        then?: (name: string, payload: unknown) => void,
    ): GenerationRequest["onEvent"] {
        return (name, payload, id) => {
            if (this.controller !== controller) {
                return;
            }
            if (id) {
                this.lastEventId = id;
            }
            // The client pairs each name with its payload (stream/client.ts); as one union,
            // onEvent can narrow on it.
            this.onEvent({ type: name, payload } as StreamEvent);
            then?.(name, payload);
        };
    }

    /**
     * Follows the running generation from the last event seen; a lost connection is retried
     * after each of RECONNECT_DELAYS_MS (`lost`: it was lost once already), then said lost.
     */
    private async followAfterLoss(controller: AbortController, lost: boolean): Promise<void> {
        for (let failures = lost ? 1 : 0; ; failures++) {
            if (failures) {
                const delay = RECONNECT_DELAYS_MS[failures - 1];
                if (delay === undefined) {
                    this.lostConnection();
                    return;
                }
                await new Promise((resolve) => setTimeout(resolve, delay));
                if (this.controller !== controller || controller.signal.aborted) {
                    return;
                }
            }
            try {
                await this.backend.followGeneration({
                    threadId: this.thread!.id,
                    lastEventId: this.lastEventId,
                    signal: controller.signal,
                    onEvent: this.eventHandler(controller),
                });
                if (this.controller !== controller || !this.streaming) {
                    return; // "done" came
                }
            } catch (error) {
                if (this.controller !== controller || controller.signal.aborted) {
                    return;
                }
                if (error instanceof GenerationRefused) {
                    this.refused(error, null, []);
                    return;
                }
            }
        }
    }

    private refused(
        error: GenerationRefused,
        message: string | null,
        attachments: AttachmentView[],
        action?: GenerationRequest["action"],
    ): void {
        this.noticeCode = error.code;
        this.notice = error.message;
        if (error.code === "already_generating") {
            this.busyElsewhere = true;
        }
        // The user's message was not stored: give it back to the composer's owner.
        if (message !== null) {
            this.refusedBeforeStoring = true;
            const last = this.messages.at(-1);
            if (last && last.id < 0) {
                this.messages.pop();
            }
            if (action?.kind === "edit") {
                // Back in its edit box: sent from the composer, it would be a new message.
                this.refusedEdit = { id: action.messageId, text: message, attachments: attachments.map(pendingFrom) };
            } else {
                this.rejectedMessage = message;
                this.rejectedAttachments = attachments.map(pendingFrom);
            }
        }
    }

    /** An edited question the server refused (the question's id, the edited text and files):
     * its message's edit box opens again with it (message/message_actions.ts). */
    refusedEdit: RefusedEdit | null = null;

    /** The text of a message the server refused, for the composer to restore. */
    rejectedMessage = "";
    /** Its attachments (a new array each time), uploaded ones included: sent again as they are. */
    rejectedAttachments: PendingAttachment[] = [];

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

    /** Shows the chips of answer `view` as it streams: the passages of its question that
     * its text cites so far (text only grows, so does the set). */
    private cite(view: MessageView): void {
        let question: MessageView | undefined;
        for (let index = this.messages.length - 1; index >= 0 && !question; index--) {
            const message = this.messages[index]!;
            question = message.role === "user" && message.id < view.id ? message : undefined;
        }
        if (question?.knowledge?.length) {
            const cited = citedIn(view.text, question.knowledge);
            if (cited.length !== (view.citations?.length ?? 0)) {
                view.citations = cited;
            }
        }
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

    /** Applies one protocol event (engine/protocol.py EVENTS). */
    onEvent(event: StreamEvent): void {
        if (event.type !== "heartbeat") {
            this.endRetry(); // anything but a heartbeat means the provider answered
        }
        // Each case narrows `payload` to its event's fields (stream/protocol.ts).
        switch (event.type) {
            case "retrying": {
                this.startRetry(event.payload.seconds);
                break;
            }
            case "message_created": {
                if (event.payload.role === "user") {
                    const pending = this.messages.find((m) => m.id < 0 && m.role === "user");
                    if (pending) {
                        pending.id = event.payload.message_id;
                    }
                } else if (event.payload.role === "assistant") {
                    // A message this tab already shows (loaded while it was being written, or
                    // continued): the events that follow rebuild it from its start.
                    const known = this.find(event.payload.message_id);
                    if (known) {
                        restart(known);
                    }
                    this.answer(event.payload.message_id).done = false;
                }
                break;
            }
            case "text_delta": {
                const view = this.answer(event.payload.message_id);
                endReasoning(view);
                view.text += event.payload.text;
                this.cite(view);
                break;
            }
            case "reasoning_delta": {
                const view = this.answer(event.payload.message_id);
                view.reasoningStartedAt ??= Date.now();
                view.reasoning += event.payload.text;
                break;
            }
            case "tool_call_started": {
                const view = this.answer(event.payload.message_id);
                view.toolCalls.push({
                    callId: event.payload.call_id,
                    name: event.payload.name,
                    arguments: event.payload.arguments ?? {},
                    status: "running",
                    result: "",
                    error: "",
                    records: [],
                    approval: null,
                    textOffset: view.text.length,
                });
                break;
            }
            case "approval_required": {
                const card = this.card(event.payload.call_id);
                if (card) {
                    card.status = "approval";
                    // The table types it as an object; its shape is llm.tool._llm_preview's.
                    const preview = event.payload.preview as unknown as ApprovalPreview;
                    card.approval = { state: "pending", preview };
                }
                break;
            }
            case "tool_call_finished": {
                const card = this.card(event.payload.call_id);
                if (card) {
                    const failed = event.payload.error !== null && event.payload.error !== undefined;
                    card.status = failed ? "error" : "done";
                    card.result = event.payload.result ?? "";
                    card.error = event.payload.error ?? "";
                    card.records = failed ? [] : linksFrom(event.payload.records);
                    announceChanged(card.records);
                }
                break;
            }
            case "usage": {
                this.answer(event.payload.message_id).usage = usageFrom(event.payload);
                break;
            }
            case "citations": {
                const question = this.find(event.payload.message_id);
                if (question) {
                    question.knowledge = citationsFrom(event.payload.citations);
                }
                break;
            }
            case "budget_warning": {
                this.budgetWarning = event.payload.message;
                break;
            }
            case "message_final": {
                const view = this.answer(event.payload.message_id);
                view.done = true;
                view.finishReason = event.payload.finish_reason;
                view.stopped = Boolean(event.payload.stopped);
                view.error = event.payload.error ?? "";
                view.finishReason = event.payload.finish_reason;
                endReasoning(view);
                break;
            }
            case "error": {
                const view =
                    event.payload.message_id !== null && event.payload.message_id !== undefined
                        ? this.find(event.payload.message_id)
                        : undefined;
                if (view) {
                    view.error = event.payload.message;
                    view.errorDetail = event.payload.detail ?? "";
                    view.done = true;
                } else {
                    this.noticeCode = event.payload.code;
                    this.notice = event.payload.message;
                }
                break;
            }
            case "done": {
                for (const view of this.messages) {
                    view.done = true;
                }
                // The table types it as a string; its values are llm.thread's generation states.
                const state = event.payload.state as GenerationState;
                if (this.thread) {
                    this.thread.generation_state = state;
                }
                // Still busy after our stream ended: another request took the thread over.
                this.busyElsewhere = BUSY_STATES.includes(state);
                if (this.busyRefusal && !this.busyElsewhere) {
                    this.notice = ""; // the answer that refused ours is written: send it now
                    this.noticeCode = "";
                }
                const stopped = this.stopping;
                this.streaming = false;
                this.stopping = false;
                // Once per answer, and the answer itself: the messages are no live region.
                const last = this.messages.at(-1);
                const answer = last?.role === "assistant" ? last : undefined;
                this.announcement =
                    state === "approval"
                        ? _t("An action waits for your approval.")
                        : state === "error" || answer?.error || this.notice
                          ? "" // the error's alert speaks
                          : stopped || answer?.stopped
                            ? _t("The answer was stopped.")
                            : answer?.text
                              ? _t("Answer: %s").replace("%s", answer.text)
                              : answer
                                ? _t("The answer is empty.")
                                : "";
                break;
            }
            default:
                break; // heartbeat, and events a newer server may add
        }
    }
}
