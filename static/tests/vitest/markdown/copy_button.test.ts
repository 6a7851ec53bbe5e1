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
