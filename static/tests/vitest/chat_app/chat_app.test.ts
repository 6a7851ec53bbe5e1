import { describe, expect, test } from "vitest";

import { ChatApp, type ChatAppProps } from "../../../src/ts/chat_app/chat_app";
import { ChatController } from "../../../src/ts/conversation/chat_controller";
import { formatCost } from "../../../src/ts/usage/usage";
import { FakeBackend, answer, fakeAction, holdAnswer, nextRender, thread } from "../fake_backend";
import { mountComponent } from "../helpers";

const action = { tag: "llm_thread.chat" };
const env = { services: { action: fakeAction } };

function typeIn(el: HTMLTextAreaElement | HTMLInputElement, value: string) {
    el.value = value;
    el.dispatchEvent(new InputEvent("input", { bubbles: true }));
}

async function mountApp(backend: FakeBackend, props: Partial<ChatAppProps> = {}) {
    const fixture = await mountComponent(ChatApp, { action, backend, ...props } as ChatAppProps, env);
    await nextRender();
    return fixture;
}

describe("ChatApp", () => {
    test("empty: the thread list, an empty state and a New button", async () => {
        const fixture = await mountApp(new FakeBackend());
        expect(fixture.querySelector(".o_llm_thread_list h2")?.textContent).toBe("Conversations");
        expect(fixture.querySelector(".o_llm_thread_list_empty")?.textContent?.trim()).toBe("No conversation yet.");
        expect(fixture.querySelector(".o_llm_chat_empty h3")?.textContent).toBe("No conversation open");
        expect(fixture.querySelector(".o_llm_not_configured")).toBeNull();
    });

    test("no provider: says who can fix it and where", async () => {
        const backend = new FakeBackend();
        backend.options = { models: [], tools: [], can_configure: false };
        const fixture = await mountApp(backend);
        const notice = fixture.querySelector(".o_llm_not_configured")!.textContent!;
        expect(notice).toContain("No AI provider is configured yet.");
        expect(notice).toContain("LLM / Manager");
        expect(notice).toContain("LLM › Configuration › Providers");
    });

    test("new thread, send with Enter, the streamed answer appears as markdown", async () => {
        const backend = new FakeBackend();
        const states: unknown[] = [];
        const fixture = await mountApp(backend, { updateActionState: (s) => states.push(s) });
        (fixture.querySelector(".o_llm_new_conversation") as HTMLButtonElement).click();
        await nextRender();
        expect(states).toEqual([{ active_id: 100 }]);
        expect(fixture.querySelectorAll(".o_llm_suggestion")).toHaveLength(3);
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        expect(document.activeElement).toBe(input);
        backend.scripts.push(answer("Hello **world**"));
        typeIn(input, "Hi");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        await nextRender();
        await nextRender();
        expect(fixture.querySelector(".o_llm_message_user")?.textContent).toBe("Hi");
        expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.innerHTML).toBe(
            "<p>Hello <strong>world</strong></p>\n",
        );
        expect(fixture.querySelector(".o_llm_usage")?.textContent).toBe("12 tokens in, 34 out");
        expect(fixture.querySelector(".o_llm_cost")?.textContent).toBe(formatCost(0.00042, "USD"));
        expect(fixture.querySelector(".o_llm_answer_model")?.textContent).toBe("Fast");
        expect(fixture.querySelector(".o_llm_thread_usage")?.textContent).toBe(
            `This conversation: 12 tokens in, 34 out · ${formatCost(0.00042, "USD")}`,
        );
        expect(input.value).toBe("");
        expect(fixture.querySelector(".o_llm_messages")?.getAttribute("aria-live")).toBe("polite");
    });

    test("opens the thread of the action's active_id, with its model picked", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 1, name: "First", model_id: 2, messages: [{ id: 5, role: "user", text: "Stored", data: {}, date: "" }] })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("First");
        expect(fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")?.value).toBe("2");
        expect(fixture.querySelector(".o_llm_message_user")?.textContent).toBe("Stored");
    });

    test("another tab's generation locks the composer until it ends, then shows its answer", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const composer = () => fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer textarea")!;
        expect(composer().disabled).toBe(false);

        backend.pushState({ thread_id: 1, state: "generating" });
        await nextRender();
        expect(composer().disabled).toBe(true);
        expect(composer().placeholder).toBe("An answer is being written in another tab…");

        backend.threads[0]!.messages = [
            { id: 5, role: "user", text: "Asked elsewhere", data: {}, date: "" },
            { id: 6, role: "assistant", text: "Answered elsewhere", data: { reasoning: "Hm.", reasoning_seconds: 4 }, date: "" },
        ];
        backend.pushState({ thread_id: 1, state: "idle" });
        await nextRender();
        expect(composer().disabled).toBe(false);
        expect(fixture.querySelector(".o_llm_message_assistant")?.textContent).toContain("Answered elsewhere");
        expect(fixture.querySelector(".o_llm_message_assistant")?.textContent).toContain("Thought for 4 s");
    });

    test("listens to the bus while open, and only then", async () => {
        const backend = new FakeBackend();
        const controller = new ChatController(backend);
        await controller.start();
        await controller.start();
        expect(backend.stateListeners.size).toBe(1);
        controller.close();
        expect(backend.stateListeners.size).toBe(0);
    });

    test("leaving the app leaves an answer streaming; the next chat view shows it live", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        const finish = holdAnswer(backend);
        const first = new ChatController(backend);
        await first.start(1);
        const answered = first.conversation.send("Go");
        first.close(); // e.g. the user opened a record from a tool card
        expect(backend.requests[0]!.signal.aborted).toBe(false);

        const next = new ChatController(backend, { resModel: "res.partner", resId: 7 });
        await next.open(1);
        expect(next.conversation).toBe(first.conversation);
        expect(next.conversation.streaming).toBe(true);
        expect(backend.calls.filter(([method]) => method === "llm_ui_load")).toHaveLength(1);
        finish();
        await answered;
        expect(next.conversation.messages.at(-1)!.text).toBe("Half and whole");
        expect(next.conversation.streaming).toBe(false);
    });

    test("the Auto model: picked and shown as picked", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ model_id: false })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        backend.rpcs.length = 0; // the default model given to a thread without one
        const select = fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!;
        select.value = "auto";
        select.dispatchEvent(new Event("change"));
        await nextRender();
        expect(backend.rpcs).toEqual([["/llm/thread/1/update", { values: { auto_model: true } }]]);
        expect(select.value).toBe("auto");
        backend.threads = [thread({ model_id: false, auto_model: true })];
        const reopened = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        expect(reopened.querySelector<HTMLSelectElement>(".o_llm_model_picker")?.value).toBe("auto");
        expect(backend.rpcs).toHaveLength(1);
    });

    test("the model and tools pickers write through the update route", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const select = fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!;
        select.value = "2";
        select.dispatchEvent(new Event("change"));
        await nextRender();
        (fixture.querySelector(".o_llm_tools_picker button") as HTMLButtonElement).click();
        await nextRender();
        fixture.querySelector<HTMLInputElement>(".o_llm_tools_menu input")!.dispatchEvent(new Event("change"));
        await nextRender();
        expect(backend.rpcs).toEqual([
            ["/llm/thread/1/update", { values: { provider_id: 1, model_id: 2, auto_model: false } }],
            ["/llm/thread/1/update", { values: { tool_names: ["search_records"] } }],
        ]);
        expect(fixture.querySelector(".o_llm_tools_picker .badge")?.textContent).toBe("1");
    });

    test("link a record: pick a model, then a record; the chip opens it", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        (fixture.querySelector(".o_llm_link_record") as HTMLButtonElement).click();
        await nextRender();
        (fixture.querySelector(".o_llm_model_option") as HTMLButtonElement).click();
        await nextRender();
        (fixture.querySelector(".o_llm_record_option") as HTMLButtonElement).click();
        await nextRender();
        const chip = fixture.querySelector<HTMLAnchorElement>(".o_llm_record_chip a")!;
        expect(chip.textContent).toBe("Azure Interior");
        expect(chip.getAttribute("href")).toBe("/odoo/res.partner/7");
        fakeAction.actions = [];
        chip.click();
        expect(fakeAction.actions).toEqual([
            { type: "ir.actions.act_window", res_model: "res.partner", res_id: 7, views: [[false, "form"]] },
        ]);
    });

    test("takes the action service's props, applying its layout class", async () => {
        const fixture = await mountApp(new FakeBackend(), {
            className: "o_action",
            actionId: 7,
            globalState: {},
        } as Partial<ChatAppProps>);
        expect(fixture.querySelector(".o_llm_chat_app")?.classList).toContain("o_action");
    });

    test("refuses to mount without its action", async () => {
        await expect(mountComponent(ChatApp, { backend: new FakeBackend() } as unknown as ChatAppProps, env)).rejects.toThrow("'action' is missing");
    });

    test("names itself for the breadcrumb", () => {
        expect(ChatApp.displayName).toBe("LLM Chat");
    });
});

describe("ChatApp thread names", () => {
    test("a new thread is named by the server after its first question, without a write of its own", async () => {
        // Written by the client, the name raced with the send's claim on the thread's row.
        const backend = new FakeBackend();
        const fixture = await mountApp(backend);
        (fixture.querySelector(".o_llm_new_conversation") as HTMLButtonElement).click();
        await nextRender();
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        backend.scripts.push(async (request) => {
            // The server named it in the send's own transaction, before the stream began.
            backend.threads.find((t) => t.id === 100)!.name = "Which companies are in my contacts?";
            const [stored, ...rest] = answer("Sure.");
            request.onEvent(stored![0] as never, stored![1] as never);
            await held;
            for (const [name, payload] of rest) {
                request.onEvent(name as never, payload as never);
            }
        });
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        typeIn(input, "Which companies are in my contacts?\nAnd more");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        await nextRender();
        // Shown while the answer is still being written.
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("Which companies are in my contacts?");
        release();
        await nextRender();
        expect(backend.rpcs).toEqual([]);
    });
});

test("a thread without a model gets the default one when opened", async () => {
    const backend = new FakeBackend();
    backend.threads = [thread({ provider_id: false, model_id: false })];
    await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
    expect(backend.rpcs).toEqual([["/llm/thread/1/update", { values: { provider_id: 1, model_id: 1, auto_model: false } }]]);
});

test("the tools menu closes on a click elsewhere", async () => {
    const backend = new FakeBackend();
    backend.threads = [thread()];
    const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
    (fixture.querySelector(".o_llm_tools_picker button") as HTMLButtonElement).click();
    await nextRender();
    expect(fixture.querySelector(".o_llm_tools_menu")).not.toBeNull();
    document.body.click();
    await nextRender();
    expect(fixture.querySelector(".o_llm_tools_menu")).toBeNull();
});

test("no provider in an open thread: the notice replaces the suggestions, the composer is off", async () => {
    const backend = new FakeBackend();
    backend.options = { models: [], tools: [], can_configure: true };
    backend.threads = [thread({ provider_id: false, model_id: false })];
    const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
    expect(fixture.querySelector(".o_llm_conversation .o_llm_not_configured")?.textContent).toContain("Add one in");
    expect(fixture.querySelector(".o_llm_suggestion")).toBeNull();
    expect(fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!.disabled).toBe(true);
    fakeAction.actions = [];
    (fixture.querySelector(".o_llm_configure") as HTMLButtonElement).click();
    expect(fakeAction.actions).toEqual(["llm_thread.action_llm_provider"]);
});

test("opening another thread leaves a streaming answer running; coming back shows it", async () => {
    const backend = new FakeBackend();
    backend.threads = [thread({ id: 1, name: "One" }), thread({ id: 2, name: "Two" })];
    const finish = holdAnswer(backend);
    const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
    const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
    typeIn(input, "Go");
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    await nextRender();
    const open = (name: string) =>
        [...fixture.querySelectorAll<HTMLButtonElement>(".o_llm_thread_open")].find((b) => b.textContent?.includes(name))!.click();
    open("Two");
    await nextRender();
    expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("Two");
    expect(fixture.querySelector(".o_llm_message_assistant")).toBeNull();
    expect(backend.requests[0]!.signal.aborted).toBe(false);
    open("One");
    await nextRender();
    // Back while it still streams: the live answer, not a reload.
    expect(fixture.querySelector(".o_llm_message_assistant.o_llm_streaming .o_llm_markdown")?.textContent).toBe("Half\n");
    open("Two");
    await nextRender();
    finish();
    await nextRender();
    open("One");
    await nextRender();
    await nextRender();
    expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.textContent).toBe("Half and whole\n");
});
