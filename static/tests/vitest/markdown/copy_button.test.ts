import { afterEach, expect, test, vi } from "vitest";

import { MarkdownView } from "../../../src/ts/markdown/markdown_view";
import { mountComponent } from "../helpers";

afterEach(() => vi.useRealTimers());

test("a code block's Copy says Copied, then reads Copy again", async () => {
    const copied: string[] = [];
    Object.defineProperty(navigator, "clipboard", {
        configurable: true,
        value: { writeText: async (text: string) => void copied.push(text) },
    });
    const fixture = await mountComponent(MarkdownView, { text: "```js\nlet a = 1;\n```" });
    vi.useFakeTimers();
    const button = fixture.querySelector<HTMLButtonElement>(".o_llm_code_copy")!;
    button.click();
    await vi.waitFor(() => expect(button.textContent).toBe("Copied"));
    expect(copied).toEqual(["let a = 1;\n"]);
    vi.advanceTimersByTime(1000);
    expect(button.textContent).toBe("Copied");
    vi.advanceTimersByTime(1000);
    expect(button.textContent).toBe("Copy");
});

test("on plain http (no navigator.clipboard) a code block is copied the old way", async () => {
    Object.defineProperty(navigator, "clipboard", { configurable: true, value: undefined });
    const copied: string[] = [];
    // jsdom has no execCommand: the browser's, copying the selected textarea.
    Object.defineProperty(document, "execCommand", {
        configurable: true,
        value: (command: string) => {
            // Ours is appended last.
            const area = document.body.lastElementChild as HTMLTextAreaElement;
            copied.push(`${command}:${area.value}`);
            return true;
        },
    });
    const fixture = await mountComponent(MarkdownView, { text: "```js\nlet a = 1;\n```" });
    const button = fixture.querySelector<HTMLButtonElement>(".o_llm_code_copy")!;
    button.click();
    await vi.waitFor(() => expect(button.textContent).toBe("Copied"));
    expect(copied).toEqual(["copy:let a = 1;\n"]);
    expect(document.querySelector("textarea")).toBeNull(); // the helper's textarea is gone
});
