import { Component } from "@odoo/owl";
import { user } from "@web/core/user";

import { _t } from "../core/l10n";
import type { MessageView } from "../conversation/types";
import { MarkdownView } from "../markdown/markdown_view";
import { formatCost, tokensLabel } from "../usage/usage";
import { messageDate } from "./message_date";
import { ToolCallCard } from "./tool_call_card";

export interface MessageItemProps {
    message: MessageView;
    /** Offered on a failed or interrupted answer when it is the last one. */
    onRetry?: () => void;
    /** Approve or deny a tool call of this answer that waits for approval. */
    onDecide?: (callId: string, approved: boolean) => void;
}

/** One turn: the user's text, or an answer with its reasoning, tool cards, usage and errors. */
export class MessageItem extends Component<MessageItemProps> {
    static template = "llm_thread.MessageItem";
    static components = { MarkdownView, ToolCallCard };
    static props = {
        message: Object,
        onRetry: { type: Function, optional: true },
        onDecide: { type: Function, optional: true },
    };

    get reasoningLabel(): string {
        const { reasoningSeconds, done, text } = this.props.message;
        if (reasoningSeconds === null) {
            return !done && !text ? _t("Thinking…") : _t("Reasoning");
        }
        return _t("Thought for %s s").replace("%s", String(reasoningSeconds));
    }

    /** The author's avatar, as in Discuss (the chat's user messages are its user's). */
    get userAvatar(): string {
        return `/web/image/res.users/${user.userId}/avatar_128`;
    }

    get userName(): string {
        return user.name;
    }

    /** "Today at 10:32", with the full date and time on hover. */
    get date(): { label: string; title: string } {
        return messageDate(this.props.message.date, user.lang);
    }

    get usageLabel(): string {
        const usage = this.props.message.usage;
        return usage ? tokensLabel(usage) : "";
    }

    /** Empty when the answer has no cost (no prices on the model, or none recorded). */
    get costLabel(): string {
        const usage = this.props.message.usage;
        return usage?.cost ? formatCost(usage.cost, usage.currency) : "";
    }
}
