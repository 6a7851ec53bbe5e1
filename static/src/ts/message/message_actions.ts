import { Component, onWillUpdateProps, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

import {
    ACCEPT,
    acceptFiles,
    pendingFrom,
    removeLabel,
    withoutAttachment,
    type PendingAttachment,
} from "../composer/attachments";
import { useFilePicking } from "../composer/file_picking";
import { copyText } from "../core/clipboard";
import { _t } from "../core/l10n";
import type { FeedbackView, MessageView, RefusedEdit } from "./types";
import type { ActionService } from "../core/records";
import { renderMarkdown } from "../markdown/markdown";

/** What the conversation lets the actions under a message do (conversation.ts). */
export interface MessageActionHandlers {
    /** No answer is being written here or elsewhere: actions that start one are offered. */
    idle: boolean;
    /** The id of the conversation's last message (only it can be continued). */
    lastId: number;
    /** The linked record, when the user may post on it (notes, messages). */
    record: { model: string; id: number } | null;
    /** The partners mail suggests as recipients of a message on `record` (ids). */
    recipients(): Promise<number[]>;
    regenerate(id: number): void;
    /** `attachments`: the edit box's files, those of the question it kept and new ones. */
    editAndResend(id: number, text: string, attachments: PendingAttachment[]): void;
    /** An edit the server refused: its question's edit box opens with it again. */
    refusedEdit: RefusedEdit | null;
    continueAnswer(id: number): void;
    switchVersion(id: number): void;
    rate(id: number, rating: FeedbackView["rating"] | null, comment: string): void;
}

interface MailStore {
    Thread: { insert(data: { model: string; id: number }): { fetchNewMessages(): void } };
}

/** A quote of an answer where it is posted: a block drawn as a quote, in the styles mail keeps. */
const QUOTE_STYLE =
    "border-left-style: solid; border-left-width: 3px; border-left-color: #ced4da; padding-left: 12px; color: #6c757d";

/**
 * The HTML of an answer for a note or an email: its markdown rendered, without the chat's
 * own controls (the code blocks' copy buttons), in what mail shows as the chat does.
 */
export function answerHtml(text: string): string {
    const container = document.createElement("div");
    container.innerHTML = renderMarkdown(text);
    container.querySelectorAll(".o_llm_code_copy").forEach((button) => button.remove());
    // Mail folds every <blockquote> under "Read More", as the quoted email of a reply
    // (tag_quote, odoo/tools/mail.py): a quote of the answer would be hidden.
    for (const quote of container.querySelectorAll("blockquote")) {
        const block = document.createElement("div");
        block.setAttribute("style", QUOTE_STYLE);
        block.append(...quote.childNodes);
        quote.replaceWith(block);
    }
    // The chat typesets formulas as MathML, which mail's sanitizer strips to bare letters:
    // a formula is posted as its TeX, as code.
    for (const formula of container.querySelectorAll<HTMLElement>(".o_llm_math")) {
        const code = document.createElement("code");
        code.textContent = (formula.dataset["tex"] ?? "").trim();
        formula.replaceWith(code);
    }
    return container.innerHTML;
}

export interface MessageActionsProps {
    message: MessageView;
    actions: MessageActionHandlers;
}

/**
 * Under an answer: copy, log as note / send as message on the linked record, regenerate,
 * thumbs up or down with a comment, Continue when the length limit cut it. Under a question:
 * edit and resend, its files removable and more attachable (the paperclip, or a pasted image)
 * as in the composer. Under both: the switcher between versions ("‹ 2/2 ›").
 */
export class MessageActions extends Component<MessageActionsProps> {
    static template = "llm_thread.MessageActions";
    static props = { message: Object, actions: Object };

    declare state: {
        editing: boolean;
        editText: string;
        /** The edit box's files (chips), and why files given to it were not attached. */
        editFiles: PendingAttachment[];
        editErrors: string[];
        commenting: boolean;
        comment: string;
        copied: boolean;
        /** The browser copied nothing: the user is told to copy by hand. */
        copyFailed: boolean;
    };
    declare action: ActionService;
    declare filePicking: ReturnType<typeof useFilePicking>;
    readonly accept = ACCEPT;
    readonly removeLabel = removeLabel;

    setup(): void {
        this.state = useState({
            editing: false,
            editText: "",
            editFiles: [],
            editErrors: [],
            commenting: false,
            comment: "",
            copied: false,
            copyFailed: false,
        });
        this.action = useService("action");
        this.filePicking = useFilePicking("editFileInput", (files) => this.attach(files));
        // An edit of this question the server refused: its box opens again as it was, whether
        // the question is shown anew (from the server) or this one stayed.
        this.reopen(this.props);
        onWillUpdateProps((next: MessageActionsProps) => {
            if (next.actions.refusedEdit !== this.props.actions.refusedEdit) {
                this.reopen(next);
            }
        });
    }

    private reopen({ actions, message }: MessageActionsProps): void {
        const refused = actions.refusedEdit;
        if (refused !== null && refused.id === message.id) {
            Object.assign(this.state, {
                editing: true,
                editText: refused.text,
                editFiles: [...refused.attachments],
                editErrors: [],
            });
        }
    }

    get versionIndex(): number {
        return this.props.message.versions.indexOf(this.props.message.id);
    }

    get versionLabel(): string {
        return `${this.versionIndex + 1}/${this.props.message.versions.length}`;
    }

    showVersion(step: number): void {
        const id = this.props.message.versions[this.versionIndex + step];
        if (id !== undefined) {
            this.props.actions.switchVersion(id);
        }
    }

    get canContinue(): boolean {
        const { message, actions } = this.props;
        return actions.idle && message.done && message.id === actions.lastId;
    }

    async copy(): Promise<void> {
        this.state.copyFailed = !(await copyText(this.props.message.text));
        this.state.copied = !this.state.copyFailed;
    }

    /**
     * Mail's own composer dialog, filled with the answer, so the user edits before posting.
     * A message goes to the recipients mail's own "Send message" suggests for the record (its
     * contact, its customer...), as the To field there: empty, the message would reach its
     * followers only, not the person it is written to.
     */
    async post(kind: "note" | "message"): Promise<void> {
        const record = this.props.actions.record;
        if (!record) {
            return;
        }
        const note = kind === "note";
        let partnerIds: number[] = [];
        if (!note) {
            try {
                partnerIds = await this.props.actions.recipients();
            } catch {
                // Not read (the network): the composer opens all the same, the user fills To.
            }
        }
        await this.action.doAction(
            {
                name: note ? _t("Log note") : _t("Compose Email"),
                type: "ir.actions.act_window",
                res_model: "mail.compose.message",
                view_mode: "form",
                views: [[false, "form"]],
                target: "new",
                context: {
                    default_body: answerHtml(this.props.message.text),
                    default_email_add_signature: false,
                    default_model: record.model,
                    default_res_ids: [record.id],
                    default_subtype_xmlid: note ? "mail.mt_note" : "mail.mt_comment",
                    ...(partnerIds.length ? { default_partner_ids: partnerIds } : {}),
                },
            },
            // As mail's composer does: the record's chatter shows what was posted.
            {
                onClose: () => {
                    const store = (this.env.services as Record<string, unknown>)["mail.store"] as MailStore;
                    store.Thread.insert(record).fetchNewMessages();
                },
            },
        );
    }

    startEdit(): void {
        Object.assign(this.state, {
            editing: true,
            editText: this.props.message.text,
            editFiles: (this.props.message.attachments ?? []).map(pendingFrom),
            editErrors: [],
        });
    }

    /** Text, files or both, as a question sent from the composer. */
    get canSubmitEdit(): boolean {
        return this.props.actions.idle && Boolean(this.state.editText.trim() || this.state.editFiles.length);
    }

    submitEdit(): void {
        if (this.canSubmitEdit) {
            this.state.editing = false;
            this.props.actions.editAndResend(this.props.message.id, this.state.editText.trim(), this.state.editFiles);
        }
    }

    cancelEdit(): void {
        for (const attachment of this.state.editFiles) {
            if (attachment.file && attachment.previewUrl) {
                URL.revokeObjectURL(attachment.previewUrl); // a local thumbnail
            }
        }
        this.state.editing = false;
    }

    async attach(files: File[]): Promise<void> {
        const { added, errors } = await acceptFiles(this.state.editFiles, files);
        this.state.editFiles.push(...added);
        this.state.editErrors = errors;
    }

    removeAttachment(key: number): void {
        this.state.editFiles = withoutAttachment(this.state.editFiles, key);
        this.state.editErrors = [];
    }

    onEditKeydown(ev: KeyboardEvent): void {
        if (ev.key === "Escape") {
            this.cancelEdit();
        } else if (ev.key === "Enter" && !ev.shiftKey) {
            ev.preventDefault();
            this.submitEdit();
        }
    }

    /** A second click on the chosen thumb clears the rating; a new one asks for a comment. */
    rate(rating: FeedbackView["rating"]): void {
        const current = this.props.message.feedback?.rating;
        const cleared = current === rating;
        this.state.commenting = !cleared;
        this.state.comment = cleared ? "" : (this.props.message.feedback?.comment ?? "");
        this.props.actions.rate(this.props.message.id, cleared ? null : rating, this.state.comment);
    }

    submitComment(): void {
        const rating = this.props.message.feedback?.rating;
        if (rating) {
            this.props.actions.rate(this.props.message.id, rating, this.state.comment.trim());
        }
        this.state.commenting = false;
    }
}
