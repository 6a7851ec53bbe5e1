import { Component } from "@odoo/owl";
import { user } from "@web/core/user";

import { contentUrl, isImage, thumbnailUrl } from "../composer/attachments";
import { modelLabel } from "../conversation/model_label";
import type { ModelOption } from "../conversation/types";
import { _t } from "../core/l10n";
import type { MessageView, ToolCallView } from "./types";
import { MarkdownView } from "../markdown/markdown_view";
import { formatCost, tokensLabel } from "../usage/usage";
import { messageDate } from "./message_date";
import { MessageActions, type MessageActionHandlers } from "./message_actions";
import { ToolCallCard } from "./tool_call_card";

/** A piece of an answer: text, then the tool calls the model made right after it. */
export interface AnswerPart {
    text: string;
    /** The piece still growing: the answer's last one while it streams. */
    streaming: boolean;
    calls: ToolCallView[];
}

/** Splits `text` at the calls' offsets: each call comes after the text written before it. */
export function answerParts(text: string, calls: ToolCallView[], done: boolean): AnswerPart[] {
    const ordered = [...calls].sort((a, b) => a.textOffset - b.textOffset);
    const parts: AnswerPart[] = [];
    let start = 0;
    for (const call of ordered) {
        const offset = Math.min(Math.max(call.textOffset, start), text.length);
        const last = parts.at(-1);
        if (last && offset === start) {
            last.calls.push(call); // no text between this call and the previous one
        } else {
            parts.push({ text: text.slice(start, offset), streaming: false, calls: [call] });
            start = offset;
        }
    }
    parts.push({ text: text.slice(start), streaming: !done, calls: [] });
    return parts;
}

export interface MessageItemProps {
    message: MessageView;
    /** Offered on a failed or interrupted answer when it is the last one. */
    onRetry?: () => void;
    /** Approve or deny a tool call of this answer that waits for approval. */
    onDecide?: (callId: string, approved: boolean) => void;
    /** Copy, regenerate, edit, versions, feedback...: the conversation's answer actions. */
    actions?: MessageActionHandlers;
    /** The models the user may pick: the answer's model is named as the picker names it. */
    models?: ModelOption[];
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
        models: { type: Array, optional: true },
    };

    // A question's attachments: images as thumbnails opening the image, files as chips
    // downloading the file.
    readonly isImage = isImage;
    readonly contentUrl = contentUrl;
    readonly thumbnailUrl = thumbnailUrl;

    get parts(): AnswerPart[] {
        const { text, toolCalls, done } = this.props.message;
        return answerParts(text, toolCalls, done);
    }

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

    get answerModel(): string {
        const usage = this.props.message.usage;
        return usage ? modelLabel(usage.model, usage.provider, this.props.models ?? []) : "";
    }

    /** Empty when the answer has no cost (no prices on the model, or none recorded). */
    get costLabel(): string {
        const usage = this.props.message.usage;
        return usage?.cost ? formatCost(usage.cost, usage.currency) : "";
    }
}
