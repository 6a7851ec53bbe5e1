import { Component, onMounted, onWillUnmount, useExternalListener, useRef, useState } from "@odoo/owl";

import type { PendingAttachment } from "../composer/attachments";
import { Composer } from "../composer/composer";
import { _t } from "../core/l10n";
import type { MessageActionHandlers } from "../message/message_actions";
import { MessageItem } from "../message/message_item";
import { formatCost, tokensLabel } from "../usage/usage";
import type { ConversationModel } from "./conversation_model";
import type { ModelOption, Suggestion } from "./types";

export interface ConversationProps {
    /** A reactive ConversationModel with a thread loaded. */
    conversation: ConversationModel;
    /** No chat model is available to this user at all. */
    notConfigured: boolean;
    /** The user can configure providers (LLM / Manager). */
    canConfigure: boolean;
    /** Where no provider is (the current company) and whom to ask, when not configured. */
    company?: string;
    managers?: string;
    /** The providers that have no chat model yet, when not configured: the notice says to
     * fetch their models rather than to add a provider. */
    emptyProviders?: string;
    onConfigure?: () => void;
    /** Called after an answer completes (the list re-sorts, names change). */
    onAnswered?: () => void;
    /** The models the user may pick (the answers name theirs as the picker does). */
    models?: ModelOption[];
    /** What an empty conversation offers (the record's prompts, the assistant's starters). */
    suggestions?: Suggestion[];
    /** Called once the first message of an empty thread is stored: the server named the
     * thread after it. */
    onFirstStored?: () => void;
}

/** From how many seconds of a silent provider the waiting note counts them. */
const WAIT_COUNTED_AFTER = 5;
/** From how many seconds the waiting note says the provider is slow, and that Stop works. */
const WAIT_SLOW_AFTER = 20;

/** The open conversation: messages, the states around them, and the composer. */
export class Conversation extends Component<ConversationProps> {
    static template = "llm_thread.Conversation";
    static components = { Composer, MessageItem };
    static props = {
        conversation: Object,
        notConfigured: Boolean,
        canConfigure: Boolean,
        company: { type: String, optional: true },
        managers: { type: String, optional: true },
        emptyProviders: { type: String, optional: true },
        onConfigure: { type: Function, optional: true },
        onAnswered: { type: Function, optional: true },
        models: { type: Array, optional: true },
        suggestions: { type: Array, optional: true },
        onFirstStored: { type: Function, optional: true },
    };

    declare model: ConversationModel;
    declare scroller: { el: HTMLElement | null };
    /** `following`: the view stays at the latest message; false once the user scrolled up.
     * `waited`: whole seconds the answer has been awaited (the waiting note counts them). */
    declare state: { following: boolean; waited: number };
    /** When this view saw the answer begin to be awaited; null while it is not. */
    private waitingSince: number | null = null;

    setup(): void {
        this.model = useState(this.props.conversation);
        this.scroller = useRef("scroller");
        this.state = useState({ following: true, waited: 0 });
        // A silent provider (a cold model, an overloaded server) shows that time passes.
        const clock = setInterval(() => this.countWait(), 1000);
        onWillUnmount(() => clearInterval(clock));
        // Opens at the latest message and follows the answer while the user is at the bottom.
        // A mutation observer, not onPatched: an answer's text is rendered by its own message
        // and markdown components, whose updates never patch this one.
        const observer = new MutationObserver(() => this.follow());
        // And when the list itself gets shorter: a bar appearing under it (the budget warning,
        // a refusal's notice) changes nothing inside it, and its end stayed hidden under the bar.
        const resizes = new ResizeObserver(() => this.follow());
        onMounted(() => {
            observer.observe(this.scroller.el!, { childList: true, subtree: true, characterData: true });
            resizes.observe(this.scroller.el!);
            this.follow();
        });
        onWillUnmount(() => {
            observer.disconnect();
            resizes.disconnect();
        });
        // Esc stops the answer wherever the focus is, unless something else used it (a menu,
        // an input cancelling its edit, a dialog).
        useExternalListener(window, "keydown", (event: Event) => {
            const ev = event as KeyboardEvent;
            const target = ev.target instanceof Element ? ev.target : null;
            if (ev.key === "Escape" && !ev.defaultPrevented && this.model.streaming && !target?.closest(".modal")) {
                ev.preventDefault();
                void this.stop();
            }
        });
    }

    private follow(): void {
        const el = this.scroller.el;
        if (el && this.state.following) {
            el.scrollTop = el.scrollHeight;
        }
    }

    onScroll(): void {
        const el = this.scroller.el;
        if (el) {
            this.state.following = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }
    }

    jumpToLatest(): void {
        this.state.following = true;
        this.follow();
    }

    /** The not-configured notice's title: one sentence to translate, the company in it. */
    get notConfiguredTitle(): string {
        if (this.props.emptyProviders) {
            return _t("No chat model is set up yet for %s.").replace("%s", this.props.emptyProviders);
        }
        return this.props.company
            ? _t("No AI provider is available in %s yet.").replace("%s", this.props.company)
            : _t("No AI provider is configured yet.");
    }

    get suggestions(): Suggestion[] {
        if (this.props.suggestions?.length) {
            return this.props.suggestions;
        }
        return this.defaultSuggestions.map((text) => ({ label: text, text }));
    }

    private get defaultSuggestions(): string[] {
        const thread = this.model.thread;
        if (thread?.res_model && thread.record_name && !thread.record_deleted) {
            const name = thread.record_name;
            return [
                _t("Summarize %s").replace("%s", name),
                _t("What are the next steps for %s?").replace("%s", name),
                _t("Draft a short message about %s").replace("%s", name),
            ];
        }
        return [
            _t("What can you do in Odoo?"),
            _t("Find my recent contacts"),
            _t("Explain an Odoo concept"),
        ];
    }

    /** The index of the last answer, the only one offered a Retry. */
    get lastAnswerIndex(): number {
        const messages = this.model.messages;
        for (let index = messages.length - 1; index >= 0; index--) {
            if (messages[index]!.role === "assistant") {
                return index;
            }
        }
        return -1;
    }

    /** What the actions under each message may do (message/message_actions.ts). */
    get messageActions(): MessageActionHandlers {
        const model = this.model;
        const thread = model.thread;
        const run = (action: Promise<void>): void => {
            this.state.following = true;
            void action.then(() => this.props.onAnswered?.());
        };
        return {
            idle: model.canSend && !this.props.notConfigured,
            lastId: model.messages.at(-1)?.id ?? 0,
            record:
                thread?.record_can_post && thread.res_model && thread.res_id
                    ? { model: thread.res_model, id: thread.res_id }
                    : null,
            recipients: () => model.suggestedRecipients(),
            regenerate: (id) => run(model.regenerate(id)),
            editAndResend: (id, text, attachments) => run(model.editAndResend(id, text, attachments)),
            refusedEdit: model.refusedEdit,
            continueAnswer: (id) => run(model.continueAnswer(id)),
            switchVersion: (id) => void model.switchVersion(id),
            rate: (id, rating, comment) => void model.rate(id, rating, comment),
        };
    }

    get draftKey(): string {
        return String(this.model.thread?.id ?? "");
    }

    get composerDisabled(): boolean {
        return !this.model.canSend || this.props.notConfigured;
    }

    get composerPlaceholder(): string | undefined {
        if (this.model.busyElsewhere) {
            return _t("An answer is being written in another tab…");
        }
        if (this.props.notConfigured) {
            return _t("No AI model is configured yet");
        }
        return undefined;
    }

    /** The whole conversation's tokens and cost, e.g. "1,200 tokens in, 340 out · $0.012". */
    get usageLabel(): string {
        const usage = this.model.usage;
        if (!usage) {
            return "";
        }
        const cost = usage.cost ? ` · ${formatCost(usage.cost, usage.currency)}` : "";
        return _t("This conversation: %s").replace("%s", tokensLabel(usage) + cost);
    }

    private countWait(): void {
        if (this.model.awaitingAnswer && this.model.retryIn === null) {
            this.waitingSince ??= Date.now();
            this.state.waited = Math.floor((Date.now() - this.waitingSince) / 1000);
        } else {
            this.waitingSince = null;
            this.state.waited = 0;
        }
    }

    /** Under the question until the answer starts: waiting (counted after a few seconds), or
     * the provider's back-off. */
    get pendingLabel(): string {
        const seconds = this.model.retryIn;
        if (seconds !== null) {
            return _t("The provider is busy; retrying in %s s…").replace("%s", String(seconds));
        }
        return this.state.waited >= WAIT_COUNTED_AFTER
            ? _t("Waiting for the answer… %s s").replace("%s", String(this.state.waited))
            : _t("Waiting for the answer…");
    }

    /** The provider has been silent long enough to say so, and what the user can do. */
    get waitIsSlow(): boolean {
        return this.model.retryIn === null && this.state.waited >= WAIT_SLOW_AFTER;
    }

    get noticeIsRetryable(): boolean {
        return ["connection_lost", "internal"].includes(this.model.noticeCode);
    }

    async send(text: string, attachments: PendingAttachment[] = []): Promise<void> {
        this.jumpToLatest();
        const first = !this.model.messages.length;
        await this.model.send(text, first ? () => this.props.onFirstStored?.() : undefined, attachments);
        this.props.onAnswered?.();
    }

    async retry(): Promise<void> {
        this.jumpToLatest();
        await this.model.retry();
        this.props.onAnswered?.();
    }

    async decide(callId: string, approved: boolean): Promise<void> {
        this.jumpToLatest();
        await this.model.decide(callId, approved);
        this.props.onAnswered?.();
    }

    async stop(): Promise<void> {
        await this.model.stop();
    }

    suggest(text: string): void {
        void this.send(text);
    }
}
