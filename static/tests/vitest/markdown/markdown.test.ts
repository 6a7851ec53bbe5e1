import createDOMPurify from "dompurify";
import { Component, reactive, useState, xml } from "@odoo/owl";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { renderMarkdown } from "../../../src/ts/markdown/markdown";
import { MarkdownView } from "../../../src/ts/markdown/markdown_view";
import { mountComponent } from "../helpers";
import { nextRender } from "../fake_backend";

/** The rendered HTML parsed, to assert on elements rather than strings. */
function dom(markdown: string): HTMLElement {
    const root = document.createElement("div");
    root.innerHTML = renderMarkdown(markdown);
    return root;
}

/** Every attribute of every element: none may run script. */
function handlers(root: HTMLElement): string[] {
    return [...root.querySelectorAll("*")].flatMap((el) =>
        [...el.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name),
    );
}

describe.each([
    ["markdown-it alone", false],
    ["with DOMPurify as in Odoo", true],
])("renderMarkdown (%s)", (_label, withPurify) => {
    beforeAll(() => {
        if (withPurify) {
            (globalThis as Record<string, unknown>)["DOMPurify"] = createDOMPurify(window);
        }
    });
    afterAll(() => {
        delete (globalThis as Record<string, unknown>)["DOMPurify"];
    });

    test("raw HTML stays text: <script>, onerror= and <iframe>", () => {
        const root = dom('Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> <iframe src="https://x"></iframe>');
        expect(root.querySelector("script, img, iframe")).toBeNull();
        expect(handlers(root)).toEqual([]);
        expect(root.textContent).toContain("<script>alert(1)</script>");
    });

    test("javascript:, vbscript: and data: links are not links", () => {
        const root = dom("[a](javascript:alert(1)) [b](JAVASCRIPT:alert(1)) [c](vbscript:x) [d](data:text/html;base64,PHNjcmlwdD4=)");
        expect(root.querySelectorAll("a")).toHaveLength(0);
    });

    test("markdown image with an onerror-like title stays inert", () => {
        const root = dom('![x" onerror="alert(1)](https://example.com/a.png "t\\" onload=\\"alert(1)")');
        expect(handlers(root)).toEqual([]);
    });

    test("links open in a new tab without the opener", () => {
        const root = dom("[Odoo](https://www.odoo.com) and https://example.com");
        const links = [...root.querySelectorAll("a")];
        expect(links.map((a) => a.getAttribute("href"))).toEqual(["https://www.odoo.com", "https://example.com"]);
        for (const link of links) {
            expect(link.getAttribute("target")).toBe("_blank");
            expect(link.getAttribute("rel")).toBe("noopener noreferrer");
        }
    });

    test("fenced code has a language label and a copy button, its content escaped", () => {
        const root = dom("```python\nprint('<b>hi</b>')\n```");
        expect(root.querySelector(".o_llm_code_lang")?.textContent).toBe("python");
        expect(root.querySelector(".o_llm_code_copy")?.getAttribute("aria-label")).toBe("Copy code");
        expect(root.querySelector("code.language-python")?.textContent).toBe("print('<b>hi</b>')\n");
        expect(root.querySelector("code b")).toBeNull();
    });

    test("a hostile fence language is escaped", () => {
        const root = dom('```"><img src=x onerror=alert(1)>\ncode\n```');
        expect(root.querySelector("img")).toBeNull();
        expect(handlers(root)).toEqual([]);
    });

    test("tables render inside a scrolling wrapper", () => {
        const root = dom("| a | b |\n| - | - |\n| 1 | 2 |");
        expect(root.querySelector(".o_llm_table > table.table")).not.toBeNull();
        expect([...root.querySelectorAll("td")].map((td) => td.textContent)).toEqual(["1", "2"]);
    });
});

describe("MarkdownView", () => {
    test("paints once per animation frame however many times the text changes", async () => {
        const state = reactive({ text: "Hel" });
        class Host extends Component {
            static template = xml`<MarkdownView text="state.text"/>`;
            static components = { MarkdownView };
            static props = {};
            declare state: { text: string };
            setup() {
                this.state = useState(state);
            }
        }
        const fixture = await mountComponent(Host, {}, {});
        const el = fixture.querySelector(".o_llm_markdown")!;
        expect(el.innerHTML).toBe("<p>Hel</p>\n");
        let writes = 0;
        const observer = new MutationObserver((records) => {
            writes += records.filter((r) => r.type === "childList" && r.target === el).length ? 1 : 0;
        });
        observer.observe(el, { childList: true });
        for (const piece of ["l", "o", " **wor", "ld**"]) {
            state.text += piece;
        }
        await nextRender();
        await nextRender();
        observer.disconnect();
        expect(el.innerHTML).toBe("<p>Hello <strong>world</strong></p>\n");
        expect(writes).toBe(1);
    });
});

/** A MarkdownView fed by `state`, as a message being streamed feeds it. */
async function mountStreaming(text: string) {
    const state = reactive({ text, streaming: true });
    class Host extends Component {
        static template = xml`<MarkdownView text="state.text" streaming="state.streaming"/>`;
        static components = { MarkdownView };
        static props = {};
        declare state: { text: string; streaming: boolean };
        setup() {
            this.state = useState(state);
        }
    }
    return { state, fixture: await mountComponent(Host, {}, {}) };
}

describe("MarkdownView while streaming", () => {
    test("stableBoundary: after the last blank line outside a fence", async () => {
        const { stableBoundary } = await import("../../../src/ts/markdown/markdown_view");
        expect(stableBoundary("a\n\nb", 0)).toBe(3);
        expect(stableBoundary("a\n\n```\nx\n\ny\n", 0)).toBe(3);
        expect(stableBoundary("a\n\n```\nx\n\n```\n\nz", 0)).toBe(15);
        expect(stableBoundary("no blank line yet", 0)).toBe(0);
    });

    test("renders complete blocks once, the tail every frame, and exactly at the end", async () => {
        const { state, fixture } = await mountStreaming("");
        const el = () => fixture.querySelector(".o_llm_markdown")!;
        const full = "# Title\n\nFirst **para**.\n\n```js\nlet a = 1;\n\nlet b = 2;\n```\n\n- one\n- two\n\nLast words";
        let first: Element | null = null;
        for (let i = 1; i <= full.length; i += 7) {
            state.text = full.slice(0, i);
            await nextRender();
            // Once the blank line after it has arrived, the heading is complete.
            if (!first && i > "# Title\n\n".length) {
                first = el().querySelector("h1");
            }
        }
        state.text = full;
        await nextRender();
        // The heading rendered early is the very same node: never rendered again.
        expect(el().querySelector("h1")).toBe(first);
        expect(el().querySelector("code")?.textContent).toBe("let a = 1;\n\nlet b = 2;\n");
        const streamed = el().innerHTML;
        // Rendered whole at the end; the blocks gave the same HTML, so the DOM is not touched.
        const mutations: MutationRecord[] = [];
        const observer = new MutationObserver((records) => mutations.push(...records));
        observer.observe(el(), { childList: true, subtree: true, characterData: true });
        state.streaming = false;
        await nextRender();
        observer.disconnect();
        expect(mutations).toEqual([]);
        expect(el().innerHTML).toBe(renderMarkdown(full));
        expect(streamed.replace(/\s/g, "")).toBe(renderMarkdown(full).replace(/\s/g, ""));
    });

    test("when blocks rendered apart differ from the whole (a loose list), the end fixes it", async () => {
        const { state, fixture } = await mountStreaming("- a\n\n- b");
        const el = fixture.querySelector(".o_llm_markdown")!;
        expect(el.querySelectorAll("ul")).toHaveLength(2);
        state.streaming = false;
        await nextRender();
        expect(el.querySelectorAll("ul")).toHaveLength(1);
        expect(el.innerHTML).toBe(renderMarkdown("- a\n\n- b"));
    });
});
