import { Component, onMounted, onPatched, onWillUnmount, useRef } from "@odoo/owl";

import { copyText } from "../core/clipboard";
import { _t } from "../core/l10n";
import { renderMarkdown } from "./markdown";
import { enrich } from "./rich";

export interface MarkdownViewProps {
    text: string;
    /** The text is still growing: render it incrementally (see paint()). */
    streaming?: boolean;
}

const FENCE = /^ {0,3}(```|~~~)/;

/** How long a code block's copy button says "Copied" (or "Copy failed"). */
const COPY_FEEDBACK_MS = 2000;

/**
 * The end of the last complete block of `text` after `from` (itself a block end): just after a
 * blank line outside any code fence. What lies before it can no longer change its rendering
 * (to within loose-list spacing, which the final full render settles).
 */
export function stableBoundary(text: string, from: number): number {
    let inFence = false;
    let boundary = from;
    let lineStart = from;
    for (;;) {
        const lineEnd = text.indexOf("\n", lineStart);
        if (lineEnd === -1) {
            return boundary; // the last line may still grow
        }
        const line = text.slice(lineStart, lineEnd);
        if (FENCE.test(line)) {
            inFence = !inFence;
        } else if (!inFence && !line.trim()) {
            boundary = lineEnd + 1;
        }
        lineStart = lineEnd + 1;
    }
}

/**
 * Markdown text as sanitised HTML. The HTML is written to the DOM directly, at most once per
 * animation frame: while an answer streams at hundreds of deltas a second, the markdown is
 * parsed once per frame, not once per delta, and OWL never diffs a large markup string.
 * While streaming, only the last, unfinished block is parsed again each frame: complete blocks
 * are rendered once and kept, so the work per frame stays small however long the answer gets.
 * When the stream ends the whole text is rendered once more, exactly.
 */
export class MarkdownView extends Component<MarkdownViewProps> {
    static template = "llm_thread.MarkdownView";
    static props = { text: String, streaming: { type: Boolean, optional: true } };

    declare root: { el: HTMLElement | null };
    declare frame: number;
    declare renderedText: string | null;
    declare renderedStreaming: boolean;
    /** Streaming: characters of the text rendered into the kept nodes, and how many nodes. */
    declare frozenLength: number;
    declare frozenNodes: number;
    /** Streaming: the HTML of the kept nodes and of the current tail, as rendered. */
    declare frozenHtml: string;
    declare tailHtml: string;
    /** The last enrichment of the final text (what a test awaits). */
    declare enriched: Promise<void>;

    setup(): void {
        this.root = useRef("root");
        this.frame = 0;
        this.renderedText = null;
        this.renderedStreaming = false;
        this.frozenLength = 0;
        this.frozenNodes = 0;
        this.frozenHtml = "";
        this.tailHtml = "";
        this.enriched = Promise.resolve();
        onMounted(() => this.paint());
        onPatched(() => this.schedule());
        onWillUnmount(() => cancelAnimationFrame(this.frame));
    }

    schedule(): void {
        if (!this.frame && this.isStale()) {
            this.frame = requestAnimationFrame(() => {
                this.frame = 0;
                this.paint();
            });
        }
    }

    isStale(): boolean {
        return (
            this.props.text !== this.renderedText ||
            Boolean(this.props.streaming) !== this.renderedStreaming
        );
    }

    /** Renders the current text now (also what a test calls instead of waiting a frame). */
    paint(): void {
        const el = this.root.el;
        if (!el || !this.isStale()) {
            return;
        }
        const { text } = this.props;
        const streaming = Boolean(this.props.streaming);
        const previous = this.renderedText ?? "";
        const continues =
            this.renderedStreaming && text.startsWith(previous.slice(0, this.frozenLength));
        this.renderedText = text;
        this.renderedStreaming = streaming;
        if (continues) {
            if (text !== previous) {
                this.paintIncrement(el, text);
            }
        } else if (streaming) {
            el.innerHTML = "";
            this.frozenLength = 0;
            this.frozenNodes = 0;
            this.frozenHtml = "";
            this.paintIncrement(el, text);
        }
        if (!streaming) {
            // The answer is complete: render it whole, exactly as after a reload. Blocks
            // rendered one by one almost always give the same HTML; then the DOM is left
            // alone (no second layout of a long answer at the very moment it ends).
            const html = renderMarkdown(text);
            if (!continues || html !== this.frozenHtml + this.tailHtml) {
                el.innerHTML = html;
            }
            // Highlighting and formulas once the text is final: never re-done every frame.
            this.enriched = enrich(el);
        }
    }

    /** Drops the previous tail, renders newly completed blocks once, then the new tail. */
    paintIncrement(el: HTMLElement, text: string): void {
        while (el.childNodes.length > this.frozenNodes) {
            el.lastChild!.remove();
        }
        const boundary = stableBoundary(text, this.frozenLength);
        if (boundary > this.frozenLength) {
            const html = renderMarkdown(text.slice(this.frozenLength, boundary));
            el.insertAdjacentHTML("beforeend", html);
            this.frozenHtml += html;
            this.frozenLength = boundary;
            this.frozenNodes = el.childNodes.length;
        }
        this.tailHtml = renderMarkdown(text.slice(this.frozenLength));
        el.insertAdjacentHTML("beforeend", this.tailHtml);
    }

    async onClick(ev: MouseEvent): Promise<void> {
        const anchor = (ev.target as HTMLElement).closest<HTMLAnchorElement>('a[href^="#fn"]');
        if (anchor) {
            // A footnote or its way back, in this answer (see markdown.ts): the web client's
            // URL is left alone.
            ev.preventDefault();
            const name = anchor.getAttribute("href")!.slice(1);
            const targets = this.root.el?.querySelectorAll<HTMLElement>("[data-anchor]") ?? [];
            [...targets].find((el) => el.dataset["anchor"] === name)?.scrollIntoView({ block: "nearest" });
            return;
        }
        const button = (ev.target as HTMLElement).closest<HTMLButtonElement>(".o_llm_code_copy");
        const code = button?.closest(".o_llm_code")?.querySelector("code");
        if (!button || !code) {
            return;
        }
        button.textContent = (await copyText(code.textContent ?? "")) ? _t("Copied") : _t("Copy failed");
        // The outcome is a passing confirmation: the button reads "Copy" again, ready to reuse.
        setTimeout(() => (button.textContent = _t("Copy")), COPY_FEEDBACK_MS);
    }
}
