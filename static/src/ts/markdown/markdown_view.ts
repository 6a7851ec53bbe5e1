import { Component, onMounted, onPatched, onWillUnmount, useRef } from "@odoo/owl";

import { _t } from "../core/l10n";
import { renderMarkdown } from "./markdown";

export interface MarkdownViewProps {
    text: string;
}

/**
 * Markdown text as sanitised HTML. The HTML is written to the DOM directly, at most once per
 * animation frame: while an answer streams at hundreds of deltas a second, the markdown is
 * parsed once per frame, not once per delta, and OWL never diffs a large markup string.
 */
export class MarkdownView extends Component<MarkdownViewProps> {
    static template = "llm_thread.MarkdownView";
    static props = { text: String };

    declare root: { el: HTMLElement | null };
    declare frame: number;
    declare renderedText: string | null;

    setup(): void {
        this.root = useRef("root");
        this.frame = 0;
        this.renderedText = null;
        onMounted(() => this.paint());
        onPatched(() => this.schedule());
        onWillUnmount(() => cancelAnimationFrame(this.frame));
    }

    schedule(): void {
        if (!this.frame && this.props.text !== this.renderedText) {
            this.frame = requestAnimationFrame(() => {
                this.frame = 0;
                this.paint();
            });
        }
    }

    /** Renders the current text now (also what a test calls instead of waiting a frame). */
    paint(): void {
        const el = this.root.el;
        if (!el || this.props.text === this.renderedText) {
            return;
        }
        this.renderedText = this.props.text;
        el.innerHTML = renderMarkdown(this.props.text);
    }

    async onClick(ev: MouseEvent): Promise<void> {
        const button = (ev.target as HTMLElement).closest<HTMLButtonElement>(".o_llm_code_copy");
        const code = button?.closest(".o_llm_code")?.querySelector("code");
        if (!button || !code) {
            return;
        }
        try {
            await navigator.clipboard.writeText(code.textContent ?? "");
            button.textContent = _t("Copied");
        } catch {
            button.textContent = _t("Copy failed");
        }
    }
}
