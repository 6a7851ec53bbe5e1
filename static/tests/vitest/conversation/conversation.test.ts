import { onTestFinished, describe, expect, test, vi } from "vitest";

import { ChatController } from "../../../src/ts/conversation/chat_controller";
import { Conversation } from "../../../src/ts/conversation/conversation";
import type { StoredMessage } from "../../../src/ts/conversation/types";
import { GenerationRefused } from "../../../src/ts/stream/client";
import { FakeBackend, fakeAction, holdAnswer, nextRender, thread } from "../fake_backend";
import { mountComponent, resized } from "../helpers";

const env = { services: { action: fakeAction } };

/**
 * jsdom has no layout: the messages' scroller reports what a browser would, 100px per message
 * in a 300px-high view, and keeps the scrollTop it is given.
 */
function fakeLayout() {
    const tops = new WeakMap<Element, number>();
    const isScroller = (el: Element) => el.classList.contains("o_llm_messages");
    const spies = [
        vi.spyOn(Element.prototype, "scrollHeight", "get").mockImplementation(function (this: Element) {
            return isScroller(this) ? 100 * this.querySelectorAll(".o_llm_message").length + 50 * this.querySelectorAll("p").length : 0;
        }),
        // The budget warning bar, under the list, takes 45px of its height.
        vi.spyOn(Element.prototype, "clientHeight", "get").mockImplementation(function (this: Element) {
            return isScroller(this) ? (document.querySelector(".o_llm_budget_warning") ? 255 : 300) : 0;
        }),
        vi.spyOn(Element.prototype, "scrollTop", "get").mockImplementation(function (this: Element) {
            return tops.get(this) ?? 0;
        }),
        vi.spyOn(Element.prototype, "scrollTop", "set").mockImplementation(function (this: Element, value: number) {
            tops.set(this, Math.max(0, Math.min(value, this.scrollHeight - this.clientHeight)));
        }),
    ];
    onTestFinished(() => spies.forEach((spy) => spy.mockRestore()));
}

function history(count: number): StoredMessage[] {
    return Array.from({ length: count }, (_, i) => ({
        id: i + 1, role: i % 2 ? "assistant" : "user", text: `Message ${i + 1}`, data: {}, date: "2026-01-01 10:00:00",
    }));
}

async function mountConversation(backend: FakeBackend) {
    const controller = new ChatController(backend);
    await controller.start(1);
    const fixture = await mountComponent(Conversation, {
        conversation: controller.conversation, notConfigured: false, canConfigure: false,
    }, env);
    await nextRender();
    const scroller = fixture.querySelector<HTMLElement>(".o_llm_messages")!;
    const atBottom = () => scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight;
    return { controller, fixture, scroller, atBottom };
}

describe("Conversation scrolling", () => {
    test("opens at the latest message", async () => {
        fakeLayout();
        const backend = new FakeBackend();
        backend.threads = [thread({ messages: history(20) })];
        const { scroller, atBottom } = await mountConversation(backend);
        expect(scroller.scrollHeight).toBeGreaterThan(1000);
        expect(atBottom()).toBe(true);
    });

    test("follows the answer as it streams; scrolled up, it stays put and offers Jump to latest", async () => {
        fakeLayout();
        const backend = new FakeBackend();
        backend.threads = [thread({ messages: history(6) })];
        const finish = holdAnswer(backend);
        const { controller, fixture, scroller, atBottom } = await mountConversation(backend);
        const answered = controller.conversation.send("Go");
        await nextRender();
        expect(atBottom()).toBe(true);
        // A delta only re-renders the answer's own components, not the conversation.
        controller.conversation.onEvent({ type: "text_delta", payload: { message_id: 11, text: "\n\nMore\n\nand more" } });
        await nextRender();
        await nextRender();
        expect(atBottom()).toBe(true);
        expect(fixture.querySelector(".o_llm_jump_latest")).toBeNull();

        scroller.scrollTop = 0;
        scroller.dispatchEvent(new Event("scroll"));
        await nextRender();
        finish();
        await answered;
        await nextRender();
        await nextRender();
        expect(scroller.scrollTop).toBe(0);
        const jump = fixture.querySelector<HTMLButtonElement>(".o_llm_jump_latest button")!;
        expect(jump.textContent?.trim()).toBe("Jump to latest");
        jump.click();
        await nextRender();
        expect(atBottom()).toBe(true);
        expect(fixture.querySelector(".o_llm_jump_latest")).toBeNull();
    });

    test("a bar appearing under the list (the budget warning) keeps its end in view", async () => {
        fakeLayout();
        const backend = new FakeBackend();
        backend.threads = [thread({ messages: history(6) })];
        const { controller, fixture, scroller, atBottom } = await mountConversation(backend);
        expect(atBottom()).toBe(true);
        // Nothing in the list changes: only its height, which the browser reports.
        controller.conversation.onEvent({ type: "budget_warning", payload: { message: "You have used 85% of your budget." } });
        await nextRender();
        expect(fixture.querySelector(".o_llm_budget_warning")).not.toBeNull();
        resized(scroller);
        expect(atBottom()).toBe(true);
    });
});

describe("Conversation", () => {
    test("a refused edit stays in its edit box, with the notice; the composer stays empty", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ messages: history(2) })];
        const refusal = "Fast cannot read images, and the question you edit has some: pick a model with vision (or Auto), then send the edit again; or ask it as a new message, without the images.";
        backend.scripts.push(async () => {
            throw new GenerationRefused("invalid_attachment", refusal, 400);
        });
        const { fixture } = await mountConversation(backend);
        fixture.querySelector<HTMLButtonElement>(".o_llm_message_user .o_llm_edit_button")!.click();
        await nextRender();
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_edit_input")!;
        input.value = "What shape is this?";
        input.dispatchEvent(new InputEvent("input", { bubbles: true }));
        fixture.querySelector<HTMLButtonElement>(".o_llm_edit_send")!.click();
        await vi.waitFor(() => expect(backend.requests[0]!.action).toEqual({ kind: "edit", messageId: 1 }));
        await vi.waitFor(() => expect(fixture.querySelector<HTMLTextAreaElement>(".o_llm_edit_input")?.value).toBe("What shape is this?"));
        await vi.waitFor(() => expect(fixture.querySelector(".o_llm_notice")?.textContent).toContain(refusal));
        expect(fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!.value).toBe("");
        expect(fixture.querySelector(".o_llm_message_user")?.textContent).toContain("Message 1");
    });

    test("Esc stops the answer wherever the focus is, unless something else used it", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        const finish = holdAnswer(backend);
        const { controller } = await mountConversation(backend);
        const answered = controller.conversation.send("Go");
        await nextRender();
        const used = new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true });
        used.preventDefault(); // e.g. a menu closed on it
        document.body.dispatchEvent(used);
        expect(backend.rpcs).toEqual([]);
        document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
        expect(backend.rpcs).toEqual([["/llm/thread/1/stop", {}]]);
        finish();
        await answered;
    });

    test("a finished answer is announced once, politely; the messages are no live region", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        const finish = holdAnswer(backend);
        const { controller, fixture } = await mountConversation(backend);
        const announcer = fixture.querySelector(".o_llm_announcer")!;
        expect(announcer.getAttribute("aria-live")).toBe("polite");
        expect(fixture.querySelector(".o_llm_messages")!.hasAttribute("aria-live")).toBe(false);
        expect(fixture.querySelectorAll("[aria-live]")).toHaveLength(1);
        const answered = controller.conversation.send("Go");
        await nextRender();
        expect(announcer.textContent).toBe("");
        finish();
        await answered;
        await nextRender();
        expect(announcer.textContent).toBe("Answer: Half and whole");
    });

    test("warns that sending cancels the action waiting for approval", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({
            messages: [
                { id: 1, role: "user", text: "Rename it", data: {}, date: "" },
                {
                    id: 2, role: "assistant", text: "", date: "",
                    data: {
                        tool_calls: [{ id: "c1", name: "update_record", arguments: {} }],
                        approvals: { c1: { state: "pending", preview: { tool: "update_record", risk: "write", model: "", records: [], changes: [] } } },
                    },
                },
            ],
        })];
        const { fixture } = await mountConversation(backend);
        expect(fixture.querySelector(".o_llm_approval_warning")?.textContent?.trim()).toBe(
            "Sending a message cancels the action waiting for your approval.",
        );
        (fixture.querySelector(".o_llm_tool_deny") as HTMLButtonElement).click();
        await nextRender();
        expect(fixture.querySelector(".o_llm_approval_warning")).toBeNull();
    });
});
