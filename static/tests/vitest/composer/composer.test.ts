import { Component, reactive, useState, xml } from "@odoo/owl";
import { beforeEach, describe, expect, onTestFinished, test, vi } from "vitest";

import type { PendingAttachment } from "../../../src/ts/composer/attachments";
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
            onSend: (text: string, attachments: PendingAttachment[]) =>
                calls.push(`send ${text}${attachments.map((a) => ` +${a.name}`).join("")}`),
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

/** An event carrying files as a browser's paste or drop does (jsdom has no DataTransfer). */
function withFiles(type: string, files: File[], text = ""): Event {
    const event = new Event(type, { bubbles: true, cancelable: true });
    const data = { files, types: files.length ? ["Files"] : ["text/plain"], getData: () => text };
    Object.defineProperty(event, type === "paste" ? "clipboardData" : "dataTransfer", { value: data });
    return event;
}

/** A PNG's first bytes: the composer reads them to tell an image from a file named .png. */
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function image(name = "image.png", size = 100): File {
    const file = new File([PNG], name, { type: "image/png" });
    Object.defineProperty(file, "size", { value: size });
    return file;
}

describe("Composer attachments", () => {
    beforeEach(() => {
        localStorage.clear();
        // jsdom has no object URLs: the thumbnail of a local image is one.
        URL.createObjectURL = vi.fn(() => "blob:preview");
        URL.revokeObjectURL = vi.fn();
    });

    test("a pasted image shows as a thumbnail and goes with the message", async () => {
        const { calls, props: p } = props();
        const fixture = await mountComponent(Composer, p);
        const input = fixture.querySelector("textarea")!;
        const paste = withFiles("paste", [image()]);
        input.dispatchEvent(paste);
        expect(paste.defaultPrevented).toBe(true);
        await nextRender();
        const thumb = fixture.querySelector<HTMLImageElement>(".o_llm_attachment_chip img")!;
        expect(thumb.getAttribute("src")).toBe("blob:preview");
        expect(thumb.alt).toBe("image.png");
        type(input, "What is this?");
        key(input, { key: "Enter" });
        expect(calls).toEqual(["send What is this? +image.png"]);
        await nextRender();
        expect(fixture.querySelector(".o_llm_attachment_chip")).toBeNull();
    });

    test("files alone can be sent, with no text; blank text alone cannot", async () => {
        const { calls, props: p } = props();
        const fixture = await mountComponent(Composer, p);
        const input = fixture.querySelector("textarea")!;
        const send = fixture.querySelector<HTMLButtonElement>(".o_llm_send")!;
        type(input, "  ");
        await nextRender();
        expect(send.disabled).toBe(true);
        input.dispatchEvent(withFiles("paste", [image()]));
        await vi.waitFor(() => expect(fixture.querySelector(".o_llm_attachment_chip")).not.toBeNull());
        expect(send.disabled).toBe(false);
        key(input, { key: "Enter" });
        expect(calls).toEqual(["send  +image.png"]);
    });

    test("pasted text stays text, even with a picture of it on the clipboard", async () => {
        const fixture = await mountComponent(Composer, props().props);
        const paste = withFiles("paste", [image()], "a table copied from a spreadsheet");
        fixture.querySelector("textarea")!.dispatchEvent(paste);
        expect(paste.defaultPrevented).toBe(false);
        await nextRender();
        expect(fixture.querySelector(".o_llm_attachment_chip")).toBeNull();
    });

    test("dropped and picked files are attached; a chip can be removed", async () => {
        const { calls, props: p } = props();
        const fixture = await mountComponent(Composer, p);
        const form = fixture.querySelector("form")!;
        const over = withFiles("dragover", [image()]);
        form.dispatchEvent(over);
        expect(over.defaultPrevented).toBe(true);
        await nextRender();
        expect(form.classList.contains("o_llm_dragging")).toBe(true);
        form.dispatchEvent(withFiles("drop", [new File(["%PDF"], "report.pdf")]));
        await nextRender();
        expect(form.classList.contains("o_llm_dragging")).toBe(false);
        const picker = fixture.querySelector<HTMLInputElement>(".o_llm_file_input")!;
        expect(picker.accept).toContain(".png");
        Object.defineProperty(picker, "files", { value: [new File(["a"], "notes.md")], configurable: true });
        picker.dispatchEvent(new Event("change", { bubbles: true }));
        await nextRender();
        const names = () => [...fixture.querySelectorAll(".o_llm_attachment_name")].map((el) => el.textContent);
        expect(names()).toEqual(["report.pdf", "notes.md"]);
        const remove = fixture.querySelector<HTMLButtonElement>(".o_llm_attachment_remove")!;
        expect(remove.getAttribute("aria-label")).toBe("Remove report.pdf");
        remove.click();
        await nextRender();
        expect(names()).toEqual(["notes.md"]);
        type(fixture.querySelector("textarea")!, "Summarize");
        key(fixture.querySelector("textarea")!, { key: "Enter" });
        expect(calls).toEqual(["send Summarize +notes.md"]);
    });

    test("what cannot be attached is said, before any upload", async () => {
        const fixture = await mountComponent(Composer, props().props);
        fixture.querySelector("textarea")!.dispatchEvent(
            withFiles("paste", [image("huge.png", 6 * 2 ** 20), new File(["MZ"], "tool.exe")]),
        );
        await nextRender();
        expect(fixture.querySelector(".o_llm_attachment_chip")).toBeNull();
        const errors = [...fixture.querySelectorAll(".o_llm_attachment_errors div")].map((el) => el.textContent);
        expect(errors).toHaveLength(2);
        expect(errors[0]).toBe("huge.png is too large (6 MB; the limit for an image is 5 MB).");
        expect(errors[1]).toMatch(/^tool.exe cannot be sent to the model/);
    });

    test("a file named like an image, or empty, is refused at once, all reasons together", async () => {
        const fixture = await mountComponent(Composer, props().props);
        fixture.querySelector("form")!.dispatchEvent(withFiles("drop", [
            new File(["Invoice 42"], "fake.png", { type: "image/png" }),
            new File([], "empty.txt"),
            image("real.png"),
        ]));
        await vi.waitFor(() => expect(fixture.querySelectorAll(".o_llm_attachment_errors div")).toHaveLength(2));
        const errors = [...fixture.querySelectorAll(".o_llm_attachment_errors div")].map((el) => el.textContent);
        expect(errors).toEqual([
            "empty.txt is empty: there is nothing in it to send.",
            "fake.png is not a valid image: attach a PNG, JPEG, GIF or WebP picture.",
        ]);
        expect([...fixture.querySelectorAll(".o_llm_attachment_name")].map((el) => el.textContent)).toEqual(["real.png"]);
        expect(URL.revokeObjectURL).toHaveBeenCalledTimes(1); // fake.png's thumbnail
    });

    test("a refused message's attachments come back", async () => {
        const state = reactive({ restore: "", attachments: [] as PendingAttachment[] });
        class Host extends Component {
            static template = xml`<Composer draftKey="'1'" disabled="false" streaming="false" onSend="() => {}" onStop="() => {}"
                restore="state.restore" restoreAttachments="state.attachments"/>`;
            static components = { Composer };
            static props = {};
            declare state: typeof state;
            setup() {
                this.state = useState(state);
            }
        }
        const fixture = await mountComponent(Host, {});
        state.restore = "What is this?";
        state.attachments = [
            { key: 1, name: "photo.png", mimetype: "image/png", file: null, id: 7, previewUrl: "/web/image/7/160x160" },
        ];
        await nextRender();
        expect(fixture.querySelector("textarea")!.value).toBe("What is this?");
        expect(fixture.querySelector(".o_llm_attachment_chip img")!.getAttribute("src")).toBe("/web/image/7/160x160");
        // Kept as the draft: after a reload, the text and the uploaded file are back.
        const reloaded = await mountComponent(Composer, props().props);
        expect(reloaded.querySelector("textarea")!.value).toBe("What is this?");
        expect(reloaded.querySelector(".o_llm_attachment_chip img")!.getAttribute("src")).toBe("/web/image/7/160x160");
        // Removed from the composer, removed from the draft too; sent, the draft is empty.
        reloaded.querySelector<HTMLButtonElement>(".o_llm_attachment_remove")!.click();
        await nextRender();
        expect((await mountComponent(Composer, props().props)).querySelector(".o_llm_attachment_chip")).toBeNull();
        reloaded.querySelector<HTMLButtonElement>(".o_llm_send")!.click();
        await nextRender();
        expect((await mountComponent(Composer, props().props)).querySelector("textarea")!.value).toBe("");
    });
});
