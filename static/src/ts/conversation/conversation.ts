import { Component, onPatched, useRef, useState } from "@odoo/owl";

import { Composer } from "../composer/composer";
import { _t } from "../core/l10n";
import { MessageItem } from "../message/message_item";
import { formatCost, tokensLabel } from "../usage/usage";
import type { ConversationModel } from "./conversation_model";

export interface ConversationProps {
    /** A reactive ConversationModel with a thread loaded. */
    conversation: ConversationModel;
    /** No chat model is available to this user at all. */
    notConfigured: boolean;
    /** The user can configure providers (LLM / Manager). */
    canConfigure: boolean;
    onConfigure?: () => void;
    /** Called after an answer completes (the list re-sorts, names change). */
    onAnswered?: () => void;
    /** Called once the first message of an empty thread is stored: the server named the
     * thread after it. */
    onFirstStored?: () => void;
}

/** The open conversation: messages, the states around them, and the composer. */
export class Conversation extends Component<ConversationProps> {
    static template = "llm_thread.Conversation";
    static components = { Composer, MessageItem };
    static props = {
        conversation: Object,
        notConfigured: Boolean,
        canConfigure: Boolean,
        onConfigure: { type: Function, optional: true },
        onAnswered: { type: Function, optional: true },
        onFirstStored: { type: Function, optional: true },
    };

    declare model: ConversationModel;
    declare scroller: { el: HTMLElement | null };
    declare composer: { el: HTMLElement | null };
    declare stick: boolean;

    setup(): void {
        this.model = useState(this.props.conversation);
        this.scroller = useRef("scroller");
        this.composer = useRef("composer");
        // Follow the answer while the user is at the bottom; leave them where they scrolled.
        this.stick = true;
        onPatched(() => {
            const el = this.scroller.el;
            if (el && this.stick) {
                el.scrollTop = el.scrollHeight;
            }
        });
    }

    onScroll(): void {
        const el = this.scroller.el;
        if (el) {
            this.stick = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }
    }

    get suggestions(): string[] {
        const thread = this.model.thread;
        if (thread?.res_model && thread.record_name) {
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

    get noticeIsRetryable(): boolean {
        return ["connection_lost", "internal"].includes(this.model.noticeCode);
    }

    async send(text: string): Promise<void> {
        this.stick = true;
        const first = !this.model.messages.length;
        await this.model.send(text, first ? () => this.props.onFirstStored?.() : undefined);
        this.props.onAnswered?.();
    }

    async retry(): Promise<void> {
        this.stick = true;
        await this.model.retry();
        this.props.onAnswered?.();
    }

    async decide(callId: string, approved: boolean): Promise<void> {
        this.stick = true;
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
