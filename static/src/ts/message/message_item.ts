import { Component } from "@odoo/owl";

import { _t } from "../core/l10n";
import type { MessageView } from "../conversation/types";
import { MarkdownView } from "../markdown/markdown_view";
import { formatCost, tokensLabel } from "../usage/usage";
import { MessageActions, type MessageActionHandlers } from "./message_actions";
import { ToolCallCard } from "./tool_call_card";

export interface MessageItemProps {
    message: MessageView;
    /** Offered on a failed or interrupted answer when it is the last one. */
    onRetry?: () => void;
    /** Approve or deny a tool call of this answer that waits for approval. */
    onDecide?: (callId: string, approved: boolean) => void;
    /** Copy, regenerate, edit, versions, feedback...: the conversation's answer actions. */
    actions?: MessageActionHandlers;
}

/** One turn: the user's text, or an answer with its reasoning, tool cards, usage and errors. */
export class MessageItem extends Component<MessageItemProps> {
    static template = "llm_thread.MessageItem";
    static components = { MarkdownView, MessageActions, ToolCallCard };
    static props = {
        message: Object,
        onRetry: { type: Function, optional: true },
        onDecide: { type: Function, optional: true },
        actions: { type: Object, optional: true },
    };

    get reasoningLabel(): string {
        const { reasoningSeconds, done, text } = this.props.message;
        if (reasoningSeconds === null) {
            return !done && !text ? _t("Thinking…") : _t("Reasoning");
        }
        return _t("Thought for %s s").replace("%s", String(reasoningSeconds));
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
