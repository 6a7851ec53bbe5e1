import createDOMPurify from "dompurify";
import { Component, reactive, useState, xml } from "@odoo/owl";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";

import firstPaintBundle from "../../../src/dist/llm_thread.js?raw";
import richBundle from "../../../src/dist/llm_thread_rich.js?raw";
import { renderMarkdown } from "../../../src/ts/markdown/markdown";
import { enrich } from "../../../src/ts/markdown/rich";
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

    test("an image of another site is a link, not fetched; this site's images show", () => {
        const root = dom(
            "![chart](/web/image/12) ![leak](https://evil.example/p.png?q=secret) " +
                "![](//evil.example/x.png) ![dot](data:image/png;base64,iVBORw0KGgo=)",
        );
        expect([...root.querySelectorAll("img")].map((img) => img.getAttribute("src"))).toEqual([
            "/web/image/12",
            "data:image/png;base64,iVBORw0KGgo=",
        ]);
        const links = [...root.querySelectorAll("a.o_llm_image_link")];
        expect(links.map((a) => [a.getAttribute("href"), a.textContent])).toEqual([
            ["https://evil.example/p.png?q=secret", "🖼️ leak"],
            ["//evil.example/x.png", "🖼️ //evil.example/x.png"],
        ]);
        expect(links.every((a) => a.getAttribute("rel") === "noopener noreferrer")).toBe(true);
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

    test("task list items show a read-only box, not a form control", () => {
        const root = dom("- [ ] to do\n- [x] done\n- [not a task]\n\n[ ] outside a list");
        const boxes = [...root.querySelectorAll("li.o_llm_task [role=checkbox]")];
        expect(boxes.map((box) => box.getAttribute("aria-checked"))).toEqual(["false", "true"]);
        expect(boxes.every((box) => box.getAttribute("aria-disabled") === "true")).toBe(true);
        expect([...root.querySelectorAll("li")].map((li) => li.textContent)).toEqual(["to do", "done", "[not a task]"]);
        expect(root.querySelector("input")).toBeNull();
        expect(root.querySelector("p")?.textContent).toBe("[ ] outside a list");
    });

    test("footnotes link to their note and back, without ids", () => {
        const root = dom("Odoo is open source[^1].\n\n[^1]: LGPL, for the community edition.");
        const ref = root.querySelector<HTMLAnchorElement>("sup.footnote-ref a")!;
        expect(ref.getAttribute("href")).toBe("#fn1");
        const note = root.querySelector(`[data-anchor="fn1"]`)!;
        expect(note.textContent).toContain("LGPL, for the community edition.");
        const back = note.querySelector<HTMLAnchorElement>("a.footnote-backref")!;
        expect(root.querySelector(`[data-anchor="${back.getAttribute("href")!.slice(1)}"]`)).toBe(ref);
        expect(root.querySelector("[id]")).toBeNull();
    });

    test("TeX is kept for the renderer, escaped; prices and code are not TeX", () => {
        const root = dom("Area $\\pi r^2$, \\(x<y\\) and\n\n$$\\frac{a}{b}$$\n\nIt costs $5 and $10. `$x$`");
        const formulas = [...root.querySelectorAll(".o_llm_math")];
        expect(formulas.map((f) => [f.getAttribute("data-tex"), f.classList.contains("o_llm_math_display")])).toEqual([
            ["\\pi r^2", false], ["x<y", false], ["\\frac{a}{b}", true],
        ]);
        expect(formulas[1]!.textContent).toBe("\\(x<y\\)");
        expect(root.textContent).toContain("It costs $5 and $10.");
        expect(root.querySelector("code")?.textContent).toBe("$x$");
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
        // Only the code's highlighting changes, inside its <code>.
        const mutations: MutationRecord[] = [];
        const observer = new MutationObserver((records) => mutations.push(...records));
        observer.observe(el(), { childList: true, subtree: true, characterData: true });
        state.streaming = false;
        await nextRender();
        await vi.waitFor(() => expect(el().querySelector("code.hljs")).not.toBeNull());
        observer.disconnect();
        expect(mutations.filter((m) => !(m.target as Element).closest?.("code"))).toEqual([]);
        const whole = document.createElement("div");
        whole.innerHTML = renderMarkdown(full);
        await enrich(whole);
        expect(el().innerHTML).toBe(whole.innerHTML);
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

describe("highlighting and formulas, loaded on demand", () => {
    // Fresh modules: no renderer loaded yet by the tests above.
    let enrich: typeof import("../../../src/ts/markdown/rich").enrich;
    let RICH_URL: string;
    let loadedUrls: string[];
    beforeAll(async () => {
        (globalThis as Record<string, unknown>)["DOMPurify"] = createDOMPurify(window);
        vi.resetModules();
        delete (globalThis as Record<string, unknown>)["llmThreadRich"];
        ({ enrich, RICH_URL } = await import("../../../src/ts/markdown/rich"));
        ({ loadedUrls } = await import("../fakes/web/core/assets"));
    });
    afterAll(() => {
        delete (globalThis as Record<string, unknown>)["DOMPurify"];
    });

    function rendered(markdown: string): HTMLElement {
        const root = document.createElement("div");
        root.innerHTML = renderMarkdown(markdown);
        return root;
    }

    test("are not in the first-paint bundle, and not loaded for an answer without them", async () => {
        expect(firstPaintBundle).not.toMatch(/KaTeX parse error|registerLanguage/);
        expect(richBundle).toMatch(/KaTeX parse error/);
        expect(richBundle).toMatch(/registerLanguage/);
        await enrich(rendered("Plain text, `inline code` and\n\n```\nno language\n```"));
        expect(loadedUrls).toEqual([]);
    });

    test("code of a known language is highlighted once the renderer is loaded, sanitised", async () => {
        const root = rendered("```python\ndef f():\n    return '<img src=x onerror=alert(1)>'\n```\n\n```klingon\nqapla'\n```");
        expect(root.querySelector(".hljs-keyword")).toBeNull();
        await enrich(root);
        expect(loadedUrls).toEqual([RICH_URL]);
        const [python, unknown] = root.querySelectorAll("code");
        expect([...python!.querySelectorAll(".hljs-keyword")].map((k) => k.textContent)).toEqual(["def", "return"]);
        expect(python!.textContent).toBe("def f():\n    return '<img src=x onerror=alert(1)>'\n");
        expect(root.querySelector("img")).toBeNull();
        expect(unknown!.innerHTML).toBe("qapla'\n");
        await enrich(root);
        expect(loadedUrls).toEqual([RICH_URL]); // loaded once
    });

    test("formulas become MathML, sanitised; invalid or hostile TeX stays inert", async () => {
        const root = rendered(
            "$\\frac{a}{b}$ and $$\\href{javascript:alert(1)}{x}$$ and $\\text{<img src=x onerror=alert(1)>}$ and $\\frac{$",
        );
        await enrich(root);
        const [fraction, link, text, invalid] = root.querySelectorAll(".o_llm_math");
        expect(fraction!.querySelector("math mfrac")).not.toBeNull();
        expect(fraction!.querySelector("annotation, semantics")).toBeNull();
        expect(fraction!.textContent).toBe("ab");
        expect(link!.querySelector("math[display=block]")).not.toBeNull();
        expect(root.querySelector("a, img, [href]")).toBeNull();
        expect(handlers(root)).toEqual([]);
        expect(text!.textContent!.replace(/\u00a0/g, " ")).toContain("<img src=x onerror=alert(1)>");
        expect(invalid!.textContent).toContain("\\frac{");
    });

    test("a footnote link scrolls to its note in the same answer, the URL untouched", async () => {
        const fixture = await mountComponent(MarkdownView, { text: "See[^1].\n\n[^1]: The note." }, {});
        const note = fixture.querySelector<HTMLElement>(`[data-anchor="fn1"]`)!;
        let scrolled = 0;
        note.scrollIntoView = () => void scrolled++;
        const click = new MouseEvent("click", { bubbles: true, cancelable: true });
        fixture.querySelector<HTMLAnchorElement>("sup a")!.dispatchEvent(click);
        expect(click.defaultPrevented).toBe(true);
        expect(scrolled).toBe(1);
        expect(window.location.hash).toBe("");
    });
});
