import { Component, onMounted, onPatched, onWillUpdateProps, useRef, useState } from "@odoo/owl";

import { _t } from "../core/l10n";
import {
    ACCEPT,
    acceptFiles,
    pendingFrom,
    removeLabel,
    withoutAttachment,
    type PendingAttachment,
} from "./attachments";
import { useFilePicking } from "./file_picking";

export interface ComposerProps {
    /** Key of the draft kept for this thread (localStorage), e.g. the thread id. */
    draftKey: string;
    disabled: boolean;
    /** This tab streams an answer: Stop replaces Send (Esc stops too, see Conversation). */
    streaming: boolean;
    placeholder?: string;
    onSend: (text: string, attachments: PendingAttachment[]) => void;
    onStop: () => void;
    /** Text to put back in the composer (a message the server refused). */
    restore?: string;
    /** Attachments to put back with it (a new array each time). */
    restoreAttachments?: PendingAttachment[];
}

const DRAFT_PREFIX = "llm_thread.draft.";
/** The draft's files uploaded already (a refused message's): ids the server keeps a day. */
const DRAFT_FILES_PREFIX = "llm_thread.draft_files.";

function readDraft(key: string): string {
    try {
        return localStorage.getItem(DRAFT_PREFIX + key) ?? "";
    } catch {
        return ""; // storage disabled: drafts are a comfort, not a requirement
    }
}

function writeText(key: string, text: string): void {
    try {
        if (text) {
            localStorage.setItem(DRAFT_PREFIX + key, text);
        } else {
            localStorage.removeItem(DRAFT_PREFIX + key);
        }
    } catch {
        // see readDraft
    }
}

/** The uploaded files of the draft of `key`, as chips; what is not one is skipped. */
function readDraftFiles(key: string): PendingAttachment[] {
    let stored: unknown;
    try {
        stored = JSON.parse(localStorage.getItem(DRAFT_FILES_PREFIX + key) ?? "[]");
    } catch {
        return []; // see readDraft; or not JSON (edited by hand)
    }
    if (!Array.isArray(stored)) {
        return [];
    }
    return stored
        .filter(
            (file): file is { id: number; name: string; mimetype: string } =>
                typeof file?.id === "number" && typeof file.name === "string" && typeof file.mimetype === "string",
        )
        .map(({ id, name, mimetype }) => pendingFrom({ id, name, mimetype }));
}

/** Keeps the text and the uploaded files of the draft of `key` (local files cannot be kept). */
function writeDraft(key: string, text: string, attachments: PendingAttachment[]): void {
    writeText(key, text);
    const uploaded = attachments.flatMap(({ id, name, mimetype }) => (id === null ? [] : [{ id, name, mimetype }]));
    try {
        if (uploaded.length) {
            localStorage.setItem(DRAFT_FILES_PREFIX + key, JSON.stringify(uploaded));
        } else {
            localStorage.removeItem(DRAFT_FILES_PREFIX + key);
        }
    } catch {
        // see readDraft
    }
}

/**
 * The message box: Enter sends, Shift+Enter adds a line, Stop stops; it grows with its text.
 * Files and images join the message by the paperclip, by drag and drop, or by pasting an
 * image; they show as chips (images as thumbnails) that can be removed until it is sent.
 */
export class Composer extends Component<ComposerProps> {
    static template = "llm_thread.Composer";
    static props = {
        draftKey: String,
        disabled: Boolean,
        streaming: Boolean,
        placeholder: { type: String, optional: true },
        onSend: Function,
        onStop: Function,
        restore: { type: String, optional: true },
        restoreAttachments: { type: Array, optional: true },
    };

    /** `errors`: why the files just given were not attached; `dragging`: files hover it. */
    declare state: { text: string; attachments: PendingAttachment[]; errors: string[]; dragging: boolean };
    declare textarea: { el: HTMLTextAreaElement | null };
    declare filePicking: ReturnType<typeof useFilePicking>;
    declare focusAfterPatch: boolean;
    readonly accept = ACCEPT;

    setup(): void {
        this.textarea = useRef("textarea");
        this.filePicking = useFilePicking("fileInput", (files) => this.attach(files));
        this.state = useState({
            text: readDraft(this.props.draftKey),
            attachments: readDraftFiles(this.props.draftKey),
            errors: [],
            dragging: false,
        });
        this.focusAfterPatch = false;
        onMounted(() => {
            this.fitText();
            this.focus();
        });
        onPatched(() => {
            this.fitText();
            if (this.focusAfterPatch) {
                this.focusAfterPatch = false;
                this.focus();
            }
        });
        onWillUpdateProps((next: ComposerProps) => {
            if (next.draftKey !== this.props.draftKey) {
                this.state.text = readDraft(next.draftKey);
                // Except what comes back with the new key (a refused first message's files):
                // OWL calls this again when it restarts a render not yet committed, with
                // this.props still the old ones, so those files are here already, restored.
                this.clearAttachments(next.restoreAttachments ?? []);
                this.state.attachments = readDraftFiles(next.draftKey);
                this.focusAfterPatch = true;
            }
            // The answer ended (or the Stop was honoured): back to writing, unless the user
            // has moved focus somewhere else meanwhile.
            if (this.props.streaming && !next.streaming) {
                const active = document.activeElement;
                this.focusAfterPatch =
                    !active || active === document.body || Boolean(active.closest(".o_llm_conversation"));
            }
            const restoreText = Boolean(next.restore) && next.restore !== this.props.restore;
            const restoreFiles =
                Boolean(next.restoreAttachments?.length) && next.restoreAttachments !== this.props.restoreAttachments;
            if (restoreText) {
                this.state.text = next.restore!;
            }
            if (restoreFiles) {
                this.state.attachments = [...next.restoreAttachments!];
            }
            if (restoreText || restoreFiles) {
                // Kept as the draft: a reload does not lose the refused message.
                writeDraft(next.draftKey, this.state.text, this.state.attachments);
            }
        });
    }

    get placeholderText(): string {
        return this.props.placeholder ?? _t("Ask anything… (Enter to send, Shift+Enter for a new line)");
    }

    /** As tall as its text, up to the CSS max-height (then it scrolls). */
    fitText(): void {
        const el = this.textarea.el;
        if (el) {
            el.style.height = "auto";
            el.style.height = `${el.scrollHeight + el.offsetHeight - el.clientHeight}px`;
        }
    }

    focus(): void {
        this.textarea.el?.focus();
    }

    onInput(ev: InputEvent): void {
        this.state.text = (ev.target as HTMLTextAreaElement).value;
        this.saveDraft();
    }

    onKeydown(ev: KeyboardEvent): void {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
            ev.preventDefault();
            this.send();
        }
    }

    /** Text, files or both: a question may be files alone (the model reads them). */
    get canSend(): boolean {
        return !this.props.disabled && Boolean(this.state.text.trim() || this.state.attachments.length);
    }

    send(): void {
        const text = this.state.text.trim();
        if (!this.canSend || this.props.streaming) {
            return;
        }
        const attachments = this.state.attachments;
        this.state.text = "";
        this.state.attachments = [];
        this.state.errors = [];
        this.saveDraft();
        this.props.onSend(text, attachments);
        this.focus();
    }

    /** Attaches what the limits allow, and says why the rest is not attached. */
    async attach(files: File[]): Promise<void> {
        this.focus();
        const { added, errors } = await acceptFiles(this.state.attachments, files);
        this.state.attachments.push(...added);
        this.state.errors = errors;
    }

    removeAttachment(key: number): void {
        this.state.attachments = withoutAttachment(this.state.attachments, key);
        this.state.errors = [];
        this.saveDraft();
        this.focus();
    }

    private saveDraft(): void {
        writeDraft(this.props.draftKey, this.state.text, this.state.attachments);
    }

    /** Empties the chips, their local thumbnails revoked, except those of `kept`. */
    private clearAttachments(kept: PendingAttachment[] = []): void {
        const keys = new Set(kept.map((attachment) => attachment.key));
        for (const attachment of this.state.attachments) {
            if (attachment.file && attachment.previewUrl && !keys.has(attachment.key)) {
                URL.revokeObjectURL(attachment.previewUrl);
            }
        }
        this.state.attachments = [];
        this.state.errors = [];
    }

    readonly removeLabel = removeLabel;

    onDragOver(ev: DragEvent): void {
        if (ev.dataTransfer?.types.includes("Files") && !this.props.disabled) {
            ev.preventDefault(); // allows the drop
            this.state.dragging = true;
        }
    }

    onDragLeave(ev: DragEvent): void {
        const form = ev.currentTarget as HTMLElement;
        if (!(ev.relatedTarget instanceof Node && form.contains(ev.relatedTarget))) {
            this.state.dragging = false;
        }
    }

    onDrop(ev: DragEvent): void {
        this.state.dragging = false;
        const files = [...(ev.dataTransfer?.files ?? [])];
        if (files.length && !this.props.disabled) {
            ev.preventDefault();
            void this.attach(files);
        }
    }

    stop(): void {
        this.props.onStop();
        this.focus();
    }
}
