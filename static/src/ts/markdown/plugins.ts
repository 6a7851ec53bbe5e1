// markdown-it rules of our own for what answers commonly hold besides CommonMark: task lists
// and TeX formulas. Both only mark the HTML up; formulas are typeset later, in the browser, by
// the lazily loaded renderer (rich.ts), so that nothing heavy is on the first paint.
import type MarkdownIt from "markdown-it";

type StateInline = Parameters<MarkdownIt["inline"]["ruler"]["push"]>[1] extends (
    state: infer S,
    silent: boolean,
) => boolean
    ? S
    : never;

const TASK = /^\[([ xX])\] /;

/**
 * `- [ ] to do` and `- [x] done` list items: a read-only checkbox. Not an <input>: the
 * sanitiser forbids form controls in answers, and the box is only a state to read.
 */
export function taskLists(md: MarkdownIt): void {
    // After text_join, so that "[ ] " is the start of one text token.
    md.core.ruler.push("llm_task_lists", (state) => {
        const tokens = state.tokens;
        for (let index = 2; index < tokens.length; index++) {
            const inline = tokens[index]!;
            const first = inline.children?.[0];
            const match = first?.type === "text" ? TASK.exec(first.content) : null;
            if (
                !match ||
                tokens[index - 1]!.type !== "paragraph_open" ||
                tokens[index - 2]!.type !== "list_item_open"
            ) {
                continue;
            }
            first!.content = first!.content.slice(match[0].length);
            const box = new state.Token("llm_task", "", 0);
            box.meta = { checked: match[1] !== " " };
            inline.children!.unshift(box);
            tokens[index - 2]!.attrJoin("class", "o_llm_task");
        }
    });
    md.renderer.rules["llm_task"] = (tokens, index) => {
        const checked = Boolean(tokens[index]!.meta?.checked);
        const icon = checked ? "fa-check-square-o" : "fa-square-o";
        return (
            `<span class="o_llm_task_box fa ${icon} me-1" role="checkbox" ` +
            `aria-checked="${checked}" aria-disabled="true"></span>`
        );
    };
}

/** Delimiters of TeX in answers: display forms first, so that `$$` is not read as `$`. */
const MATH_DELIMITERS: [open: string, close: string, display: boolean][] = [
    ["$$", "$$", true],
    ["\\[", "\\]", true],
    ["\\(", "\\)", false],
    ["$", "$", false],
];

/**
 * The end of a `$…$` formula starting at `start`, or -1. As in Pandoc, so that prices stay
 * text ("$5 and $10"): the opening `$` is followed by a non-space, the next `$` closes it only
 * after a non-space and before a non-digit. A formula never spans a code span's backtick.
 */
function dollarEnd(src: string, start: number): number {
    const end = src.indexOf("$", start);
    const valid =
        end !== -1 &&
        !/\s/.test(src[start]!) &&
        !/[\s\\]/.test(src[end - 1]!) &&
        !/\d/.test(src[end + 1] ?? "") &&
        !src.slice(start, end).includes("`");
    return valid ? end : -1;
}

function math(state: StateInline, silent: boolean): boolean {
    const { src, pos } = state;
    const delimiter = MATH_DELIMITERS.find(([open]) => src.startsWith(open, pos));
    if (!delimiter) {
        return false;
    }
    const [open, close, display] = delimiter;
    const start = pos + open.length;
    const end = open === "$" ? dollarEnd(src, start) : src.indexOf(close, start);
    if (end <= start || !src.slice(start, end).trim()) {
        return false;
    }
    if (!silent) {
        const token = state.push("llm_math", "", 0);
        token.content = src.slice(start, end);
        token.markup = open;
        token.info = close;
        token.meta = { display };
    }
    state.pos = end + close.length;
    return true;
}

/**
 * `$…$`, `\(…\)` (inline) and `$$…$$`, `\[…\]` (display) formulas: the TeX is kept in
 * `data-tex` and shown as written until the renderer typesets it.
 */
export function texMath(md: MarkdownIt): void {
    // Before "escape", which would read `\(` as an escaped parenthesis.
    md.inline.ruler.before("escape", "llm_math", math);
    md.renderer.rules["llm_math"] = (tokens, index) => {
        const token = tokens[index]!;
        const display = Boolean(token.meta?.display);
        const escape = md.utils.escapeHtml;
        return (
            `<span class="o_llm_math${display ? " o_llm_math_display" : ""}" ` +
            `data-tex="${escape(token.content)}">` +
            `${escape(token.markup + token.content + token.info)}</span>`
        );
    };
}
