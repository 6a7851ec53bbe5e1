// Markdown of assistant answers, rendered in the browser (never on the server, where the
// leading addon re-renders the whole answer for every token). Two layers of safety:
// markdown-it with raw HTML off escapes any tag the model writes, and DOMPurify (Odoo's global
// copy) cleans whatever our own renderer rules emit.
import MarkdownIt from "markdown-it";

import { _t } from "../core/l10n";

const md = new MarkdownIt({ html: false, linkify: true, breaks: false, typographer: false });

// markdown-it already refuses javascript:, vbscript:, file: and most data: URLs (validateLink);
// every surviving link leaves Odoo in a new tab without handing it `window.opener`.
const defaultLinkOpen =
    md.renderer.rules.link_open ??
    ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
md.renderer.rules.link_open = (tokens, index, options, env, self) => {
    const token = tokens[index]!;
    token.attrSet("target", "_blank");
    token.attrSet("rel", "noopener noreferrer");
    return defaultLinkOpen(tokens, index, options, env, self);
};

// Fenced code: a header with the language and a copy button (handled by a delegated click on
// the rendered answer, see Markdown.onClick: the HTML itself carries no handler).
md.renderer.rules.fence = (tokens, index) => {
    const token = tokens[index]!;
    const language = token.info.trim().split(/\s+/)[0] ?? "";
    const label = md.utils.escapeHtml(language || _t("text"));
    const languageClass = language ? ` class="language-${md.utils.escapeHtml(language)}"` : "";
    return (
        `<div class="o_llm_code">` +
        `<div class="o_llm_code_header"><span class="o_llm_code_lang">${label}</span>` +
        `<button type="button" class="o_llm_code_copy btn btn-sm btn-link" ` +
        `aria-label="${md.utils.escapeHtml(_t("Copy code"))}">${md.utils.escapeHtml(_t("Copy"))}</button></div>` +
        `<pre><code${languageClass}>${md.utils.escapeHtml(token.content)}</code></pre></div>`
    );
};

// Tables scroll on their own instead of widening the conversation.
md.renderer.rules.table_open = () => `<div class="o_llm_table"><table class="table table-sm">`;
md.renderer.rules.table_close = () => `</table></div>`;

const PURIFY_CONFIG = {
    // Our rules add target and rel on links; DOMPurify drops target unless told.
    ADD_ATTR: ["target"],
    FORBID_TAGS: ["style", "form", "input", "iframe"],
};

/** The sanitised HTML of a markdown text. */
export function renderMarkdown(text: string): string {
    const html = md.render(text);
    const purify = (globalThis as { DOMPurify?: DOMPurifyLike }).DOMPurify;
    // Without DOMPurify (never in Odoo, which always loads it) markdown-it's escaping stands alone.
    return purify ? purify.sanitize(html, PURIFY_CONFIG) : html;
}
