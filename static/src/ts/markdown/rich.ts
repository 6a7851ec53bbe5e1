// Syntax highlighting and typeset formulas, applied to rendered answers once their text is
// complete. The highlighter and KaTeX are a separate file (static/src/dist/llm_thread_rich.js,
// built from rich_entry.ts), loaded on first need: the chat's first paint does not wait for
// them, and a page whose answers hold no code and no formula never loads them.
import { loadJS } from "@web/core/assets";

import { sanitize } from "./markdown";

/** What the lazy file sets on `window.llmThreadRich`. */
export interface RichRenderer {
    /** The highlighted HTML of `code`, or null for a language it does not know. */
    highlight(code: string, language: string): string | null;
    /** The MathML of a TeX formula; invalid TeX comes back as the source, marked as an error. */
    math(tex: string, display: boolean): string;
}

declare global {
    // eslint-disable-next-line no-var
    var llmThreadRich: RichRenderer | undefined;
}

/** Versioned by content (build.mjs): browsers cache static files for a week. */
export const RICH_URL = `/llm_thread/static/src/dist/llm_thread_rich.js?v=${LLM_THREAD_RICH_VERSION}`;

/** Code blocks with a language and formulas not yet done. */
const PENDING = ".o_llm_code code[data-language]:not([data-rich]), .o_llm_math:not([data-rich])";

let loading: Promise<RichRenderer> | null = null;

function loadRich(): Promise<RichRenderer> {
    loading ??= loadJS(RICH_URL).then(() => {
        if (!globalThis.llmThreadRich) {
            throw new Error(`${RICH_URL} did not define llmThreadRich`);
        }
        return globalThis.llmThreadRich;
    });
    return loading;
}

/**
 * Highlights the code blocks and typesets the formulas under `root`, loading the renderer
 * the first time there is any. Its output is sanitised like the rest of the answer. If the
 * file cannot be loaded (offline), the answer stays as rendered: code plain, TeX as written.
 */
export async function enrich(root: HTMLElement): Promise<void> {
    if (!root.querySelector(PENDING)) {
        return;
    }
    let rich: RichRenderer;
    try {
        rich = await loadRich();
    } catch {
        loading = null; // try again with the next answer
        return;
    }
    for (const node of root.querySelectorAll<HTMLElement>(PENDING)) {
        node.dataset["rich"] = "1";
        if (node.classList.contains("o_llm_math")) {
            const display = node.classList.contains("o_llm_math_display");
            node.innerHTML = sanitize(rich.math(node.dataset["tex"] ?? "", display));
        } else {
            const html = rich.highlight(node.textContent ?? "", node.dataset["language"] ?? "");
            if (html !== null) {
                node.innerHTML = sanitize(html);
                node.classList.add("hljs");
            }
        }
    }
}
