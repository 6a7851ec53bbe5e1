import { Component, onMounted, onPatched, onWillUpdateProps, useRef, useState } from "@odoo/owl";

import { _t } from "../core/l10n";

export interface ComposerProps {
    /** Key of the draft kept for this thread (localStorage), e.g. the thread id. */
    draftKey: string;
    disabled: boolean;
    /** This tab streams an answer: Stop replaces Send (Esc stops too, see Conversation). */
    streaming: boolean;
    placeholder?: string;
    onSend: (text: string) => void;
    onStop: () => void;
    /** Text to put back in the composer (a message the server refused). */
    restore?: string;
}

const DRAFT_PREFIX = "llm_thread.draft.";

function readDraft(key: string): string {
    try {
        return localStorage.getItem(DRAFT_PREFIX + key) ?? "";
    } catch {
        return ""; // storage disabled: drafts are a comfort, not a requirement
    }
}

function writeDraft(key: string, text: string): void {
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

/** The message box: Enter sends, Shift+Enter adds a line, Stop stops; it grows with its text. */
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
    };

    declare state: { text: string };
    declare textarea: { el: HTMLTextAreaElement | null };
    declare focusAfterPatch: boolean;

    setup(): void {
        this.textarea = useRef("textarea");
        this.state = useState({ text: readDraft(this.props.draftKey) });
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
                this.focusAfterPatch = true;
            }
            // The answer ended (or the Stop was honoured): back to writing, unless the user
            // has moved focus somewhere else meanwhile.
            if (this.props.streaming && !next.streaming) {
                const active = document.activeElement;
                this.focusAfterPatch =
                    !active || active === document.body || Boolean(active.closest(".o_llm_conversation"));
            }
            if (next.restore && next.restore !== this.props.restore) {
                this.state.text = next.restore;
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
        writeDraft(this.props.draftKey, this.state.text);
    }

    onKeydown(ev: KeyboardEvent): void {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
            ev.preventDefault();
            this.send();
        }
    }

    send(): void {
        const text = this.state.text.trim();
        if (!text || this.props.disabled || this.props.streaming) {
            return;
        }
        this.state.text = "";
        writeDraft(this.props.draftKey, "");
        this.props.onSend(text);
        this.focus();
    }

    stop(): void {
        this.props.onStop();
        this.focus();
    }
}
