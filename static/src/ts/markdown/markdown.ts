// Markdown of assistant answers, rendered in the browser (never on the server, where the
// leading addon re-renders the whole answer for every token). Two layers of safety:
// markdown-it with raw HTML off escapes any tag the model writes, and DOMPurify (Odoo's global
// copy) cleans whatever our own renderer rules emit, and what the lazy renderer adds (rich.ts).
import MarkdownIt from "markdown-it";
import footnote from "markdown-it-footnote";

import { _t } from "../core/l10n";
import { taskLists, texMath } from "./plugins";

const md = new MarkdownIt({ html: false, linkify: true, breaks: false, typographer: false })
    .use(footnote)
    .use(taskLists)
    .use(texMath);

// Footnote anchors are named by data-anchor, not id: every answer numbers its notes from 1,
// and ids would repeat on the page. MarkdownView.onClick moves between them within the answer.
for (const rule of ["footnote_ref", "footnote_open"]) {
    const render = md.renderer.rules[rule]!;
    md.renderer.rules[rule] = (...args) => render(...args).replace(' id="', ' data-anchor="');
}

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

// An image from another site is fetched as soon as the answer shows, with whatever the model
// wrote into its URL: a prompt injection (in a web page or a record the model read) could make
// it write the conversation there. Only this Odoo's own images and data: images (markdown-it
// lets through gif, png, jpeg and webp) show; any other becomes a link the user may open.
const defaultImage = md.renderer.rules.image!;
md.renderer.rules.image = (tokens, index, options, env, self) => {
    const token = tokens[index]!;
    const src = token.attrGet("src") ?? "";
    if (isOwnImage(src)) {
        return defaultImage(tokens, index, options, env, self);
    }
    const alt = self.renderInlineAsText(token.children ?? [], options, env);
    return (
        `<a href="${md.utils.escapeHtml(src)}" target="_blank" rel="noopener noreferrer" class="o_llm_image_link">` +
        `🖼️ ${md.utils.escapeHtml(alt || src)}</a>`
    );
};

function isOwnImage(src: string): boolean {
    if (src.startsWith("data:image/")) {
        return true;
    }
    try {
        return new URL(src, window.location.href).origin === window.location.origin;
    } catch {
        return false;
    }
}

// Fenced code: a header with the language and a copy button (handled by a delegated click on
// the rendered answer, see Markdown.onClick: the HTML itself carries no handler).
md.renderer.rules.fence = (tokens, index) => {
    const token = tokens[index]!;
    const language = token.info.trim().split(/\s+/)[0] ?? "";
    const label = md.utils.escapeHtml(language || _t("text"));
    // The lazy renderer highlights the code of a known data-language (rich.ts).
    const languageClass = language
        ? ` class="language-${md.utils.escapeHtml(language)}" data-language="${md.utils.escapeHtml(language.toLowerCase())}"`
        : "";
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

/** `html` cleaned by DOMPurify, as every answer is. */
export function sanitize(html: string): string {
    const purify = (globalThis as { DOMPurify?: DOMPurifyLike }).DOMPurify;
    // Without DOMPurify (never in Odoo, which always loads it) markdown-it's escaping stands alone.
    return purify ? purify.sanitize(html, PURIFY_CONFIG) : html;
}

/** The sanitised HTML of a markdown text. */
export function renderMarkdown(text: string): string {
    return sanitize(md.render(text));
}
