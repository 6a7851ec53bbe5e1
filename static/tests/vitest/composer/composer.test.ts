import { Component, reactive, useState, xml } from "@odoo/owl";
import { beforeEach, describe, expect, onTestFinished, test, vi } from "vitest";

import { Composer, type ComposerProps } from "../../../src/ts/composer/composer";
import { nextRender } from "../fake_backend";
import { mountComponent } from "../helpers";

function props(values: Partial<ComposerProps> = {}) {
    const calls: string[] = [];
    return {
        calls,
        props: {
            draftKey: "1",
            disabled: false,
            streaming: false,
            onSend: (text: string) => calls.push(`send ${text}`),
            onStop: () => calls.push("stop"),
            ...values,
        } as ComposerProps,
    };
}

function key(el: Element, init: KeyboardEventInit) {
    const event = new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init });
    el.dispatchEvent(event);
    return event;
}

function type(el: HTMLTextAreaElement, value: string) {
    el.value = value;
    el.dispatchEvent(new InputEvent("input", { bubbles: true }));
}

describe("Composer", () => {
    beforeEach(() => localStorage.clear());

    test("Enter sends, Shift+Enter adds a line", async () => {
        const { calls, props: p } = props();
        const fixture = await mountComponent(Composer, p);
        const input = fixture.querySelector("textarea")!;
        type(input, "line one");
        expect(key(input, { key: "Enter", shiftKey: true }).defaultPrevented).toBe(false);
        expect(calls).toEqual([]);
        expect(key(input, { key: "Enter" }).defaultPrevented).toBe(true);
        expect(calls).toEqual(["send line one"]);
        await nextRender();
        expect(input.value).toBe("");
        expect(document.activeElement).toBe(input);
    });

    test("blank text and a disabled composer send nothing", async () => {
        const { calls, props: p } = props({ disabled: true });
        const fixture = await mountComponent(Composer, p);
        const input = fixture.querySelector("textarea")!;
        type(input, "hello");
        key(input, { key: "Enter" });
        expect(calls).toEqual([]);
        expect(fixture.querySelector<HTMLButtonElement>(".o_llm_send")!.disabled).toBe(true);
    });

    test("while streaming: a labelled Stop button", async () => {
        const { calls, props: p } = props({ streaming: true });
        const fixture = await mountComponent(Composer, p);
        expect(fixture.querySelector(".o_llm_send")).toBeNull();
        const stop = fixture.querySelector<HTMLButtonElement>(".o_llm_stop")!;
        expect(stop.getAttribute("aria-label")).toBe("Stop the answer");
        stop.click();
        expect(calls).toEqual(["stop"]);
    });

    test("grows with its text, and shrinks back once it is sent", async () => {
        // jsdom has no layout: the text's height is what a browser reports, 24px a line.
        const height = vi.spyOn(HTMLElement.prototype, "scrollHeight", "get").mockImplementation(function (this: HTMLElement) {
            return 24 * Math.max(2, ((this as HTMLTextAreaElement).value ?? "").split("\n").length);
        });
        onTestFinished(() => height.mockRestore());
        const fixture = await mountComponent(Composer, props().props);
        const input = fixture.querySelector("textarea")!;
        expect(input.style.height).toBe("48px");
        type(input, "one\ntwo\nthree\nfour");
        await nextRender();
        expect(input.style.height).toBe("96px");
        key(input, { key: "Enter" });
        await nextRender();
        expect(input.style.height).toBe("48px");
    });

    test("the draft is kept per thread", async () => {
        const { props: p } = props();
        const first = await mountComponent(Composer, p);
        type(first.querySelector("textarea")!, "half-written");
        const { props: other } = props({ draftKey: "2" });
        const second = await mountComponent(Composer, other);
        expect(second.querySelector("textarea")!.value).toBe("");
        const again = await mountComponent(Composer, props().props);
        expect(again.querySelector("textarea")!.value).toBe("half-written");
    });
});

describe("Composer focus", () => {
    test("returns to the composer when the answer ends and when the thread changes", async () => {
        const state = reactive({ streaming: true, key: "1" });
        class Host extends Component {
            static template = xml`<div class="o_llm_conversation"><button class="other">x</button>
                <Composer draftKey="state.key" disabled="false" streaming="state.streaming" onSend="() => {}" onStop="() => {}"/></div>`;
            static components = { Composer };
            static props = {};
            declare state: { streaming: boolean; key: string };
            setup() {
                this.state = useState(state);
            }
        }
        const fixture = await mountComponent(Host, {});
        const input = fixture.querySelector("textarea")!;
        fixture.querySelector<HTMLButtonElement>(".other")!.focus();
        state.streaming = false;
        await nextRender();
        expect(document.activeElement).toBe(input);
        fixture.querySelector<HTMLButtonElement>(".other")!.focus();
        state.key = "2";
        await nextRender();
        expect(document.activeElement).toBe(input);
    });
});
