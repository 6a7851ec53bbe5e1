import { reactive } from "@odoo/owl";
import { describe, expect, onTestFinished, test, vi } from "vitest";

import { ChatApp, type ChatAppProps } from "../../../src/ts/chat_app/chat_app";
import { ChatController } from "../../../src/ts/conversation/chat_controller";
import { GenerationRefused } from "../../../src/ts/stream/client";
import { formatCost } from "../../../src/ts/usage/usage";
import { FakeBackend, OPTIONS, answer, fakeAction, holdAnswer, nextRender, thread } from "../fake_backend";
import { mountComponent } from "../helpers";

const action = { tag: "llm_thread.chat" };
/** Odoo's ui service as the chat reads it: `isSmall` below the small breakpoint (a phone). */
const ui = reactive({ isSmall: false });
const env = { services: { action: fakeAction, ui } };

function typeIn(el: HTMLTextAreaElement | HTMLInputElement, value: string) {
    el.value = value;
    el.dispatchEvent(new InputEvent("input", { bubbles: true }));
}

async function mountApp(backend: FakeBackend, props: Partial<ChatAppProps> = {}) {
    const fixture = await mountComponent(ChatApp, { action, backend, ...props } as ChatAppProps, env);
    await nextRender();
    return fixture;
}

/** As over the network: the view renders between a refusal and the thread's deletion. */
function deleteAfterARender(backend: FakeBackend): void {
    const call = backend.call.bind(backend);
    backend.call = async <T>(method: string, args: unknown[], kwargs?: Record<string, unknown>): Promise<T> => {
        if (method === "llm_ui_delete") {
            await nextRender();
        }
        return call<T>(method, args, kwargs);
    };
}

describe("ChatApp", () => {
    test("the prompts that need no record are suggested in a conversation about none", async () => {
        const backend = new FakeBackend();
        backend.unlinkedPrompts = [{ id: 4, name: "Weekly plan", text: "Plan my week, Mitchell." }];
        const fixture = await mountApp(backend);
        expect(fixture.querySelector(".o_llm_suggestion")?.textContent).toBe("Weekly plan");
        expect(backend.calls.find(([m]) => m === "llm_ui_prompts")![2]).toMatchObject({ res_model: false, res_id: false });
    });

    test("a link to a conversation that is not the user's opens their latest, saying so", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 3, name: "Mine" })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 44 } } });
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("Mine");
        expect(fixture.querySelector(".o_llm_notice")?.textContent).toContain("This conversation does not exist or is not yours.");
    });

    test("a link to one of the user's conversations beyond the list opens it", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 3, name: "Mine" }), thread({ id: 2, name: "Older" })];
        const list = backend.call.bind(backend);
        // The list holds the latest conversations only (llm_ui_list's limit).
        backend.call = async <T>(method: string, args: unknown[], kwargs?: Record<string, unknown>): Promise<T> => {
            const result = await list<T>(method, args, kwargs);
            return (method === "llm_ui_list" ? (result as unknown[]).slice(0, 1) : result) as T;
        };
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 2 } } });
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("Older");
        expect(fixture.querySelector(".o_llm_notice")).toBeNull();
    });

    test("no conversation yet: opens on a new one, ready to write, not yet created", async () => {
        const backend = new FakeBackend();
        const fixture = await mountApp(backend);
        expect(fixture.querySelector(".o_llm_thread_list h2")?.textContent).toBe("Conversations");
        expect(fixture.querySelector(".o_llm_thread_list_empty")?.textContent?.trim()).toBe("No conversation yet.");
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("New conversation");
        expect(fixture.querySelectorAll(".o_llm_suggestion")).toHaveLength(3);
        expect(document.activeElement).toBe(fixture.querySelector(".o_llm_composer_input"));
        expect(fixture.querySelector(".o_llm_not_configured")).toBeNull();
        expect(backend.calls.map(([method]) => method)).not.toContain("llm_ui_create");
    });

    test("a refused first message leaves no empty conversation and gives the text back", async () => {
        const backend = new FakeBackend();
        const states: unknown[] = [];
        const fixture = await mountApp(backend, { updateActionState: (s) => states.push(s) });
        backend.scripts.push(async () => {
            throw new GenerationRefused("too_long", "This message is too long.", 413);
        });
        deleteAfterARender(backend);
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        typeIn(input, "A very long question");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        for (let i = 0; i < 6; i++) {
            await nextRender();
        }
        expect(backend.calls.map(([method]) => method)).toContain("llm_ui_delete");
        expect(backend.threads).toEqual([]);
        expect(fixture.querySelector(".o_llm_thread_list_empty")?.textContent?.trim()).toBe("No conversation yet.");
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("New conversation");
        expect(fixture.textContent).toContain("This message is too long.");
        expect(input.value).toBe("A very long question");
        expect(states.at(-1)).toEqual({ active_id: undefined });
        // Sent again, shortened: the conversation is created then, once.
        backend.scripts.push(answer("Sure."));
        typeIn(input, "A question");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        for (let i = 0; i < 3; i++) {
            await nextRender();
        }
        expect(backend.threads.map((t) => t.name)).toEqual(["A question"]);
        expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.textContent).toBe("Sure.\n");
    });

    test("a refused upload in a new conversation leaves no conversation, the files given back", async () => {
        const backend = new FakeBackend();
        const controller = new ChatController(backend, { resModel: "res.partner", resId: 7 });
        await controller.start();
        await controller.newDraft();
        const files = ["a.txt", "scan.pdf"].map((name, key) => ({
            key, name, mimetype: "text/plain", file: new File(["x"], name), id: null, previewUrl: "",
        }));
        backend.refusedUploads.set("scan.pdf", "No text could be read from scan.pdf.");
        await controller.conversation.send("Read these", undefined, files);
        expect(backend.calls.map(([method]) => method)).toContain("llm_ui_create");
        expect(backend.threads).toEqual([]);
        expect(controller.threads).toEqual([]);
        expect(controller.activeId).toBeNull();
        const draft = controller.conversation;
        expect(draft.notice).toBe("No text could be read from scan.pdf.");
        expect(draft.rejectedMessage).toBe("Read these");
        // As files again: what was uploaded went with the deleted thread.
        expect(draft.rejectedAttachments.map((a) => [a.name, a.id, a.file?.name])).toEqual([
            ["a.txt", null, "a.txt"],
            ["scan.pdf", null, "scan.pdf"],
        ]);
        // Sent again without the scan: one conversation, its file uploaded to it.
        backend.scripts.push(answer("Read."));
        await draft.send("Read these", undefined, draft.rejectedAttachments.slice(0, 1));
        expect(backend.threads).toHaveLength(1);
        expect(backend.uploads.at(-1)![0]).toBe(backend.threads[0]!.id);
    });

    test("an image refused in a new conversation (no vision) leaves no conversation", async () => {
        const backend = new FakeBackend();
        const controller = new ChatController(backend);
        await controller.start();
        await controller.newDraft();
        backend.scripts.push(async () => {
            throw new GenerationRefused("invalid_attachment", "Fast cannot read images.", 400);
        });
        const image = { key: 1, name: "image.png", mimetype: "image/png", file: new File(["png"], "image.png", { type: "image/png" }), id: null, previewUrl: "blob:x" };
        await controller.conversation.send("What is this?", undefined, [image]);
        expect(backend.threads).toEqual([]);
        expect(controller.threads).toEqual([]);
        const draft = controller.conversation;
        expect(draft.thread!.name).toBe("New conversation");
        expect(draft.notice).toBe("Fast cannot read images.");
        expect(draft.rejectedMessage).toBe("What is this?");
        expect(draft.rejectedAttachments.map((a) => [a.id, a.file, a.previewUrl])).toEqual([[null, image.file, "blob:x"]]);
    });

    test("a refused first message with an image: no conversation, the composer has it back", async () => {
        // jsdom has no object URLs: a local image's thumbnail is one, revoked when removed.
        URL.createObjectURL = vi.fn(() => "blob:preview");
        URL.revokeObjectURL = vi.fn();
        const backend = new FakeBackend();
        const fixture = await mountApp(backend);
        backend.scripts.push(async () => {
            throw new GenerationRefused("invalid_attachment", "Fast cannot read images.", 400);
        });
        deleteAfterARender(backend);
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        const paste = new Event("paste", { bubbles: true, cancelable: true });
        const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])], "image.png", { type: "image/png" });
        Object.defineProperty(paste, "clipboardData", { value: { files: [file], types: ["Files"], getData: () => "" } });
        input.dispatchEvent(paste);
        await nextRender();
        typeIn(input, "What is this?");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        for (let i = 0; i < 6; i++) {
            await nextRender();
        }
        expect(backend.threads).toEqual([]);
        expect(fixture.querySelector(".o_llm_thread_list_empty")).not.toBeNull();
        expect(fixture.textContent).toContain("Fast cannot read images.");
        expect(input.value).toBe("What is this?");
        expect(fixture.querySelector<HTMLImageElement>(".o_llm_attachment_chip img")?.getAttribute("src")).toBe("blob:preview");
        expect(URL.revokeObjectURL).not.toHaveBeenCalled();
    });

    test("opens on the latest conversation when none is asked for", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 2, name: "Latest" }), thread({ id: 1, name: "Older" })];
        const fixture = await mountApp(backend);
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("Latest");
        expect(document.activeElement).toBe(fixture.querySelector(".o_llm_composer_input"));
    });

    test("New three times leaves no empty conversation: the thread is created by its first message", async () => {
        const backend = new FakeBackend();
        const states: unknown[] = [];
        const fixture = await mountApp(backend, { updateActionState: (s) => states.push(s) });
        for (let i = 0; i < 3; i++) {
            (fixture.querySelector(".o_llm_new_conversation") as HTMLButtonElement).click();
            await nextRender();
        }
        expect(backend.calls.map(([method]) => method)).not.toContain("llm_ui_create");
        // The header's choices are kept by the draft, then given to the created thread.
        const select = fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!;
        select.value = "2";
        select.dispatchEvent(new Event("change"));
        await nextRender();
        expect(backend.rpcs).toEqual([]);
        backend.scripts.push(answer("Sure."));
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        typeIn(input, "Hi");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        await nextRender();
        await nextRender();
        const creates = backend.calls.filter(([method]) => method === "llm_ui_create");
        expect(creates).toEqual([["llm_ui_create", [], {
            res_model: false, res_id: false,
            values: { provider_id: 1, model_id: 2, auto_model: false, tool_names: ["search_records"], knowledge_source_ids: [], assistant_id: false },
        }]]);
        expect(backend.requests[0]!.threadId).toBe(100);
        expect(states.at(-1)).toEqual({ active_id: 100 });
        expect(fixture.querySelectorAll(".o_llm_thread_open")).toHaveLength(1);
        expect(fixture.querySelector(".o_llm_thread_item.active")?.textContent).toContain("Hi");
        // The same view goes on (not remounted): the answer shows under the question.
        expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.textContent).toBe("Sure.\n");
    });

    test("a question from Ask AI is sent in a new conversation, not again back from the breadcrumbs", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 3, name: "Earlier" })];
        backend.scripts.push(answer("It is Tuesday."));
        ui.isSmall = true;
        onTestFinished(() => void (ui.isSmall = false));
        const fixture = await mountApp(backend, { question: "What day is it?" });
        await nextRender();
        expect(backend.requests.map((request) => request.message)).toEqual(["What day is it?"]);
        // On a phone, the conversation shows, not the list.
        expect(fixture.querySelector(".o_llm_message_user")?.textContent).toContain("What day is it?");
        expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.textContent).toBe("It is Tuesday.\n");
        expect(backend.threads).toHaveLength(2);
        const created = backend.threads.find((t) => t.id !== 3)!;
        const back = await mountApp(backend, { question: "What day is it?", state: { thread_id: created.id } });
        await nextRender();
        expect(backend.requests).toHaveLength(1);
        expect(back.querySelector(".o_llm_thread_title")?.textContent).toBe(created.name);
    });

    test("a question from Ask AI with no provider waits in the composer, under the notice", async () => {
        const backend = new FakeBackend();
        backend.options = { models: [], tools: [], default_tool_names: [], assistants: [], can_configure: false };
        const fixture = await mountApp(backend, { question: "Anyone there?" });
        expect(fixture.querySelector(".o_llm_not_configured")).not.toBeNull();
        expect(fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!.value).toBe("Anyone there?");
        expect(backend.requests).toEqual([]);
    });

    test("no provider: says who can fix it and where", async () => {
        const backend = new FakeBackend();
        backend.options = { models: [], tools: [], default_tool_names: [], assistants: [], can_configure: false };
        const fixture = await mountApp(backend);
        const notice = fixture.querySelector(".o_llm_not_configured")!.textContent!;
        expect(notice).toContain("No AI provider is configured yet.");
        expect(notice).toContain("LLM / Manager");
        expect(notice).toContain("LLM › Configuration › Providers");
    });

    test("no provider in the current company: says so, and names its managers", async () => {
        const backend = new FakeBackend();
        backend.options = {
            models: [], tools: [], default_tool_names: [], assistants: [], can_configure: false,
            company_name: "Company C", manager_names: "Mitchell Admin",
        };
        const fixture = await mountApp(backend);
        const notice = fixture.querySelector(".o_llm_not_configured")!.textContent!;
        expect(notice).toContain("No AI provider is available in Company C yet.");
        expect(notice).toContain("Ask an LLM manager (Mitchell Admin)");
    });

    test("a provider without chat models: names it and says to fetch its models", async () => {
        const backend = new FakeBackend();
        backend.options = {
            models: [], tools: [], default_tool_names: [], assistants: [], can_configure: true,
            company_name: "YourCompany", manager_names: "Mitchell Admin", empty_provider_names: "New OpenAI",
        };
        let fixture = await mountApp(backend);
        let notice = fixture.querySelector(".o_llm_not_configured")!.textContent!;
        expect(notice).toContain("No chat model is set up yet for New OpenAI.");
        expect(notice).toContain("Fetch models");
        expect(notice).not.toContain("No AI provider");
        expect(fixture.querySelector(".o_llm_not_configured .o_llm_configure")?.textContent).toBe("Open the providers");
        backend.options = { ...backend.options, can_configure: false };
        fixture = await mountApp(backend);
        notice = fixture.querySelector(".o_llm_not_configured")!.textContent!;
        expect(notice).toContain("No chat model is set up yet for New OpenAI.");
        expect(notice).toContain("Ask an LLM manager (Mitchell Admin) to fetch its models or to add one.");
    });

    test("new thread, send with Enter, the streamed answer appears as markdown", async () => {
        const backend = new FakeBackend();
        const states: unknown[] = [];
        const fixture = await mountApp(backend, { updateActionState: (s) => states.push(s) });
        (fixture.querySelector(".o_llm_new_conversation") as HTMLButtonElement).click();
        await nextRender();
        expect(states).toEqual([{ active_id: undefined }]);
        expect(fixture.querySelectorAll(".o_llm_suggestion")).toHaveLength(3);
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        expect(document.activeElement).toBe(input);
        backend.scripts.push(answer("Hello **world**"));
        typeIn(input, "Hi");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        await nextRender();
        await nextRender();
        expect(fixture.querySelector(".o_llm_user_bubble")?.textContent).toBe("Hi");
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
        expect(states).toEqual([{ active_id: undefined }, { active_id: 100 }]);
    });

    test("a silent provider: the waiting note counts the seconds, then says Stop is there", async () => {
        // The clock the note reads runs ahead on demand, and its ticks are run at once:
        // rendering keeps its own timers and time.
        // Stands still otherwise, whatever time the test takes.
        const start = Date.now();
        let ahead = 0;
        vi.spyOn(Date, "now").mockImplementation(() => start + ahead);
        const ticks: (() => void)[] = [];
        const setIntervalReal = globalThis.setInterval;
        vi.spyOn(globalThis, "setInterval").mockImplementation(((tick: () => void, ms?: number) => {
            if (ms === 1000) {
                ticks.push(tick);
            }
            return setIntervalReal(tick, ms);
        }) as unknown as typeof setInterval);
        const wait = (ms: number) => {
            ahead += ms;
            ticks.forEach((tick) => tick());
        };
        onTestFinished(() => {
            vi.restoreAllMocks();
        });
        const backend = new FakeBackend();
        backend.threads = [thread()];
        let release!: () => void;
        const silent = new Promise<void>((resolve) => (release = resolve));
        backend.scripts.push(async (request) => {
            request.onEvent("message_created", { message_id: 10, role: "user" });
            await silent;
            request.onEvent("done", { thread_id: 1, state: "idle" });
        });
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        typeIn(input, "Hello?");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        await nextRender();
        const note = () => fixture.querySelector(".o_llm_pending");
        wait(0); // the tick that sees the wait begin
        wait(3000);
        await nextRender();
        expect(note()?.textContent?.trim()).toBe("Waiting for the answer…");
        wait(9000);
        await nextRender();
        expect(note()?.textContent?.trim()).toBe("Waiting for the answer… 12 s");
        expect(fixture.querySelector(".o_llm_slow_provider")).toBeNull();
        wait(10000);
        await nextRender();
        expect(fixture.querySelector(".o_llm_slow_provider")?.textContent).toContain("Keep waiting, or press Stop");
        release();
        await nextRender();
        expect(note()).toBeNull();
    });

    test("Send shows a waiting note under the question at once; Stop leaves it with a Retry", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        backend.scripts.push(async (request) => {
            request.onEvent("message_created", { message_id: 10, role: "user" });
            await gate;
            request.onEvent("retrying", { seconds: 4, code: "rate_limit" });
            await new Promise<void>((resolve) => (stopped = resolve));
            request.onEvent("done", { thread_id: 1, state: "idle" });
        });
        let stopped!: () => void;
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        typeIn(input, "Hello?");
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
        await nextRender();
        expect(fixture.querySelector(".o_llm_pending")?.textContent?.trim()).toBe("Waiting for the answer…");
        release();
        await nextRender();
        expect(fixture.querySelector(".o_llm_pending")?.textContent?.trim()).toBe("The provider is busy; retrying in 4 s…");
        (fixture.querySelector(".o_llm_stop") as HTMLButtonElement).click();
        await nextRender();
        stopped();
        await nextRender();
        expect(fixture.querySelector(".o_llm_pending")).toBeNull();
        expect(fixture.querySelector(".o_llm_message_user .o_llm_user_bubble")?.textContent).toBe("Hello?");
        const note = fixture.querySelector(".o_llm_unanswered")!;
        expect(note.textContent).toContain("Stopped before the answer started");
        backend.scripts.push(answer("Hi").slice(1));
        (note.querySelector(".o_llm_retry") as HTMLButtonElement).click();
        await nextRender();
        expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.textContent?.trim()).toBe("Hi");
        expect(fixture.querySelector(".o_llm_unanswered")).toBeNull();
    });

    test("opens the thread of the action's active_id, with its model picked", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 1, name: "First", model_id: 2, messages: [{ id: 5, role: "user", text: "Stored", data: {}, date: "" }] })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("First");
        expect(fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")?.value).toBe("2");
        expect(fixture.querySelector(".o_llm_user_bubble")?.textContent).toBe("Stored");
    });

    test("two providers' models of one name: the closed picker and the answers name the provider", async () => {
        const backend = new FakeBackend();
        backend.options = {
            ...OPTIONS,
            models: [
                OPTIONS.models[0]!,
                { id: 3, name: "gpt-4o", provider_id: 1, provider_name: "OpenAI", is_default: false, supports_tools: true, price_missing: false },
                { id: 4, name: "gpt-4o", provider_id: 2, provider_name: "Local", is_default: true, supports_tools: true, price_missing: false },
            ],
        };
        const usage = (model: string, provider: string) => ({ usage: { input_tokens: 1, output_tokens: 2, model, provider } });
        backend.threads = [thread({
            id: 1, provider_id: 2, model_id: 4, model_name: "gpt-4o (Local)",
            messages: [
                { id: 5, role: "user", text: "Hi", data: {}, date: "" },
                { id: 6, role: "assistant", text: "From OpenAI", data: usage("gpt-4o", "OpenAI"), date: "" },
                { id: 7, role: "user", text: "Again", data: {}, date: "" },
                { id: 8, role: "assistant", text: "From the local server", data: usage("gpt-4o", "Local"), date: "" },
                { id: 9, role: "user", text: "Faster", data: {}, date: "" },
                { id: 10, role: "assistant", text: "Fast one", data: usage("Fast", "OpenAI"), date: "" },
            ],
        })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        // Closed, a select shows its chosen option's text alone, without the group's label.
        const select = fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!;
        expect(select.selectedOptions[0]?.textContent).toBe("gpt-4o (Local)");
        expect([...select.querySelectorAll("optgroup")].map((group) => [
            group.label, [...group.querySelectorAll("option")].map((option) => option.textContent),
        ])).toEqual([["OpenAI", ["Fast", "gpt-4o (OpenAI)"]], ["Local", ["gpt-4o (Local)"]]]);
        expect([...fixture.querySelectorAll(".o_llm_answer_model")].map((el) => el.textContent))
            .toEqual(["gpt-4o (OpenAI)", "gpt-4o (Local)", "Fast"]);
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

    test("another tab's question shows above its answer while it is written", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ messages: [
            { id: 5, role: "user", text: "Earlier", data: {}, date: "" },
            { id: 6, role: "assistant", text: "Earlier answer", data: {}, date: "" },
        ] })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        // The other tab's send stored its question before the bus said "generating".
        backend.threads[0]!.messages.push({ id: 7, role: "user", text: "Asked in the other tab", data: {}, date: "" });
        let release!: () => void;
        backend.follows.push(async (request) => {
            request.onEvent("message_created", { message_id: 7, role: "user" });
            request.onEvent("message_created", { message_id: 8, role: "assistant" });
            request.onEvent("text_delta", { message_id: 8, text: "Half" });
            await new Promise<void>((resolve) => (release = resolve));
            request.onEvent("done", { thread_id: 1, state: "idle" });
        });
        backend.pushState({ thread_id: 1, state: "generating" });
        for (let i = 0; i < 3; i++) {
            await nextRender();
        }
        const bubbles = [...fixture.querySelectorAll(".o_llm_user_bubble")].map((b) => b.textContent);
        expect(bubbles).toEqual(["Earlier", "Asked in the other tab"]);
        const texts = [...fixture.querySelectorAll(".o_llm_message")].map((m) => m.textContent ?? "");
        expect(texts.findIndex((t) => t.includes("Asked in the other tab")))
            .toBeLessThan(texts.findIndex((t) => t.includes("Half")));
        release();
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
        // By their names for people, not the technical ones the model calls.
        expect([...fixture.querySelectorAll(".o_llm_tools_menu .o_llm_tool_label")].map((e) => e.textContent)).toEqual([
            "Search records",
            "Update record",
        ]);
        expect(fixture.querySelector(".o_llm_tools_menu")?.textContent).not.toContain("update_record");
        fixture.querySelector<HTMLInputElement>(".o_llm_tools_menu input")!.dispatchEvent(new Event("change"));
        await nextRender();
        expect(backend.rpcs).toEqual([
            ["/llm/thread/1/update", { values: { provider_id: 1, model_id: 2, auto_model: false } }],
            ["/llm/thread/1/update", { values: { tool_names: ["search_records"] } }],
        ]);
        expect(fixture.querySelector(".o_llm_tools_picker .badge")?.textContent).toBe("1");
    });

    test("a model or assistant the user may no longer pick shows as unavailable, not as another", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ model_id: 9, model_name: "Claude Haiku (Claude)", assistant_id: 7, assistant_name: "Sales helper" })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const models = fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!;
        expect(models.selectedOptions[0]?.textContent).toBe("Claude Haiku (Claude) (unavailable)");
        const assistants = fixture.querySelector<HTMLSelectElement>(".o_llm_assistant_picker")!;
        expect(assistants.selectedOptions[0]?.textContent).toBe("Sales helper (unavailable)");
    });

    test("the Auto option says when the models have no prices to compare", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread()];
        const autoText = async (missing: boolean[]) => {
            backend.options = {
                ...OPTIONS,
                models: OPTIONS.models.map((model, index) => ({ ...model, price_missing: missing[index] ?? false })),
            };
            const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
            return fixture.querySelector(".o_llm_model_picker option[value='auto']")?.textContent;
        };
        expect(await autoText([false, false])).toBe("Auto (cheapest that fits)");
        expect(await autoText([true, false])).toBe("Auto (cheapest that fits; models without a price first)");
        expect(await autoText([true, true])).toBe("Auto: no prices set, picks the first that fits");
    });

    test("a model not marked Tools shows the tools off, and why", async () => {
        const backend = new FakeBackend();
        backend.options = {
            ...OPTIONS,
            models: [OPTIONS.models[0], { ...OPTIONS.models[1], supports_tools: false }],
        };
        backend.threads = [thread()];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        expect(fixture.querySelector(".o_llm_tools_off")).toBeNull();
        const select = fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!;
        select.value = "2";
        select.dispatchEvent(new Event("change"));
        await nextRender();
        expect(fixture.querySelector(".o_llm_tools_picker .badge")?.textContent).toBe("off");
        (fixture.querySelector(".o_llm_tools_picker button") as HTMLButtonElement).click();
        await nextRender();
        expect(fixture.querySelector(".o_llm_tools_off_note")?.textContent).toContain(
            "Smart is not marked as calling tools",
        );
    });

    test("the sources picker chooses the conversation's knowledge sources through the update route", async () => {
        const backend = new FakeBackend();
        backend.options = {
            ...OPTIONS,
            knowledge_sources: [
                { id: 4, name: "Policies", kind: "Files" },
                { id: 7, name: "Website", kind: "Web Pages" },
            ],
        };
        backend.threads = [thread({ knowledge_source_ids: [7] })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        expect(fixture.querySelector(".o_llm_sources_picker .badge")?.textContent).toBe("1");
        (fixture.querySelector(".o_llm_sources_picker button") as HTMLButtonElement).click();
        await nextRender();
        const boxes = fixture.querySelectorAll<HTMLInputElement>(".o_llm_sources_menu input");
        expect([...boxes].map((box) => box.checked)).toEqual([false, true]);
        boxes[0]!.dispatchEvent(new Event("change"));
        await nextRender();
        fixture.querySelectorAll<HTMLInputElement>(".o_llm_sources_menu input")[1]!.dispatchEvent(new Event("change"));
        await nextRender();
        expect(backend.rpcs).toEqual([
            ["/llm/thread/1/update", { values: { knowledge_source_ids: [7, 4] } }],
            ["/llm/thread/1/update", { values: { knowledge_source_ids: [4] } }],
        ]);
        expect(fixture.querySelector(".o_llm_sources_picker .badge")?.textContent).toBe("1");
        expect(fixture.querySelector(".o_llm_tools_menu")).toBeNull();
    });

    test("the assistant picker: assistants offered here, its starters, its model fixed", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ assistant_id: 1 })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const picker = fixture.querySelector<HTMLSelectElement>(".o_llm_assistant_picker")!;
        // Not linked to a contact: the contacts' assistant is not offered.
        expect([...picker.options].map((o) => o.textContent)).toEqual(["No assistant", "Odoo helper"]);
        expect(picker.value).toBe("1");
        expect([...fixture.querySelectorAll(".o_llm_suggestion")].map((b) => b.textContent)).toEqual([
            "What can you do for me?",
        ]);
        expect(fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!.disabled).toBe(false);
        backend.threads = [thread({ id: 2, res_model: "res.partner", res_id: 7, record_name: "Azure" })];
        const linked = await mountApp(backend, { action: { ...action, context: { active_id: 2 } } });
        const contacts = linked.querySelector<HTMLSelectElement>(".o_llm_assistant_picker")!;
        contacts.value = "2";
        contacts.dispatchEvent(new Event("change"));
        await nextRender();
        expect(backend.calls.at(-1)).toEqual(["llm_ui_set_assistant", [[2]], { assistant_id: 2 }]);
        const model = linked.querySelector<HTMLSelectElement>(".o_llm_model_picker")!;
        expect(model.value).toBe("2");
        expect(model.disabled).toBe(true);
    });

    test("a test conversation offers the assistant it tests, whatever its Offered On", async () => {
        const backend = new FakeBackend();
        // The Test button of the contacts' assistant: a conversation about no contact.
        backend.threads = [thread({ assistant_id: 2, assistant_name: "Contacts helper", model_id: 2, test_assistant_id: 2 })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const picker = fixture.querySelector<HTMLSelectElement>(".o_llm_assistant_picker")!;
        expect([...picker.options].map((o) => o.textContent)).toEqual(["No assistant", "Odoo helper", "Contacts helper"]);
        expect(picker.value).toBe("2");
        expect(fixture.querySelector<HTMLSelectElement>(".o_llm_model_picker")!.disabled).toBe(true);
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

    test("a deleted linked record: the chip names it so, links nowhere, and can be unlinked", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({
            res_model: "res.partner", res_id: 44, record_name: "Deleted record (Contact)", record_deleted: true,
        })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const chip = fixture.querySelector(".o_llm_record_chip")!;
        expect(chip.textContent?.trim()).toBe("Deleted record (Contact)");
        expect(chip.querySelector("a")).toBeNull();
        // The list says the same, and no starter asks about "Deleted record (Contact)".
        expect(fixture.querySelector(".o_llm_thread_open small")?.textContent).toBe("Deleted record (Contact)");
        expect(fixture.querySelector(".o_llm_suggestion")?.textContent).not.toContain("Deleted record");
        expect(chip.querySelector("button")?.getAttribute("title")).toBe("Unlink the record");
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

test("Escape closes the tools menu and gives the focus back to its button", async () => {
    const backend = new FakeBackend();
    backend.threads = [thread()];
    const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
    const button = fixture.querySelector<HTMLButtonElement>(".o_llm_tools_picker button")!;
    button.click();
    await nextRender();
    fixture.querySelector<HTMLInputElement>(".o_llm_tools_menu input")!.focus();
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await nextRender();
    expect(fixture.querySelector(".o_llm_tools_menu")).toBeNull();
    expect(document.activeElement).toBe(button);
});

test("no provider in an open thread: the notice replaces the suggestions, the composer is off", async () => {
    const backend = new FakeBackend();
    backend.options = { models: [], tools: [], default_tool_names: [], assistants: [], can_configure: true };
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

describe("ChatApp on a phone", () => {
    test("one column at a time: the list, then the conversation with a back button", async () => {
        ui.isSmall = true;
        onTestFinished(() => {
            ui.isSmall = false;
        });
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 1, name: "One" }), thread({ id: 2, name: "Two" })];
        const fixture = await mountApp(backend);
        expect(fixture.querySelector(".o_llm_chat_app")?.classList).toContain("o_llm_chat_small");
        expect(fixture.querySelector(".o_llm_thread_list")).not.toBeNull();
        expect(fixture.querySelector(".o_llm_conversation")).toBeNull();
        [...fixture.querySelectorAll<HTMLButtonElement>(".o_llm_thread_open")].find((b) => b.textContent?.includes("Two"))!.click();
        await nextRender();
        expect(fixture.querySelector(".o_llm_thread_list")).toBeNull();
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("Two");
        // On the title's row, not a row of its own taking the messages' height.
        expect(fixture.querySelector(".o_llm_back")?.nextElementSibling?.classList).toContain("o_llm_thread_title");
        (fixture.querySelector(".o_llm_back") as HTMLButtonElement).click();
        await nextRender();
        expect(fixture.querySelector(".o_llm_conversation")).toBeNull();
        (fixture.querySelector(".o_llm_new_conversation") as HTMLButtonElement).click();
        await nextRender();
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("New conversation");
        // Back to a desktop width: both columns.
        ui.isSmall = false;
        await nextRender();
        expect(fixture.querySelector(".o_llm_thread_list")).not.toBeNull();
        expect(fixture.querySelector(".o_llm_conversation")).not.toBeNull();
        expect(fixture.querySelector(".o_llm_back")).toBeNull();
    });

    test("a given thread opens directly", async () => {
        ui.isSmall = true;
        onTestFinished(() => {
            ui.isSmall = false;
        });
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 1, name: "One" })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        expect(fixture.querySelector(".o_llm_thread_list")).toBeNull();
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("One");
    });
});

describe("ChatApp list", () => {
    test("marks conversations with an answer being written or an approval waiting, live", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 1, name: "One" }), thread({ id: 2, name: "Two" })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 1 } } });
        const item = (name: string) =>
            [...fixture.querySelectorAll(".o_llm_thread_item")].find((li) => li.textContent?.includes(name))!;
        expect(fixture.querySelector(".o_llm_thread_generating, .o_llm_thread_approval")).toBeNull();
        backend.pushState({ thread_id: 2, state: "generating" });
        await nextRender();
        expect(item("Two").querySelector(".o_llm_thread_generating")?.getAttribute("title")).toBe("An answer is being written");
        backend.pushState({ thread_id: 2, state: "approval" });
        await nextRender();
        expect(item("Two").querySelector(".o_llm_thread_generating")).toBeNull();
        expect(item("Two").querySelector(".o_llm_thread_approval")?.getAttribute("title")).toBe("An action waits for your approval");
        expect(item("One").querySelector(".o_llm_thread_approval")).toBeNull();
    });

    test("automations' conversations are behind a switch, one waiting for approval in the list", async () => {
        const backend = new FakeBackend();
        backend.threads = [
            thread({ id: 3, name: "Triage: Fix the door", from_automation: true }),
            thread({ id: 2, name: "Triage waits", from_automation: true, generation_state: "approval" }),
            thread({ id: 1, name: "My own chat" }),
        ];
        const fixture = await mountApp(backend);
        const names = () => [...fixture.querySelectorAll(".o_llm_thread_open")].map((b) => b.textContent?.trim());
        expect(names()).toEqual(["Triage waits", "My own chat"]);
        expect(fixture.querySelector(".o_llm_thread_from_automation")?.getAttribute("title")).toBe("Started by an automation");
        const toggle = fixture.querySelector<HTMLInputElement>(".o_llm_thread_automations")!;
        expect(toggle.labels?.[0]?.textContent).toBe("From automations");
        toggle.checked = true;
        toggle.dispatchEvent(new Event("change", { bubbles: true }));
        await nextRender();
        expect(names()).toEqual(["Triage: Fix the door", "Triage waits"]);
        // An automation's conversation that comes to need the user joins their list.
        toggle.checked = false;
        toggle.dispatchEvent(new Event("change", { bubbles: true }));
        await nextRender();
        backend.pushState({ thread_id: 3, state: "approval" });
        await nextRender();
        expect(names()).toEqual(["Triage: Fix the door", "Triage waits", "My own chat"]);
    });

    test("many conversations created at once (an automation) read the list twice, not each time", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 1, name: "One" })];
        const fixture = await mountApp(backend);
        const reads = () => backend.calls.filter(([method]) => method === "llm_ui_list").length;
        const before = reads();
        for (let id = 2; id < 52; id++) {
            backend.threads.unshift(thread({ id, name: `Made ${id}` }));
            backend.pushList({ thread_id: id, change: "created" });
        }
        await nextRender();
        expect(reads() - before).toBe(2);
        expect(fixture.querySelectorAll(".o_llm_thread_open")).toHaveLength(51);
    });

    test("a conversation created, renamed or deleted in another tab shows here at once", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 1, name: "One" }), thread({ id: 2, name: "Two" })];
        const fixture = await mountApp(backend, { action: { ...action, context: { active_id: 2 } } });
        const names = () => [...fixture.querySelectorAll(".o_llm_thread_open")].map((b) => b.textContent?.trim());
        backend.threads.unshift(thread({ id: 3, name: "Made elsewhere" }));
        backend.pushList({ thread_id: 3, change: "created" });
        await nextRender();
        expect(names()).toEqual(["Made elsewhere", "One", "Two"]);
        backend.threads[0]!.name = "Renamed elsewhere";
        backend.pushList({ thread_id: 3, change: "renamed" });
        await nextRender();
        expect(names()).toEqual(["Renamed elsewhere", "One", "Two"]);
        // The open one deleted elsewhere: it stays in view, saying so, and takes no message.
        backend.threads = backend.threads.filter((t) => t.id !== 2);
        backend.pushList({ thread_id: 2, change: "deleted" });
        await nextRender();
        expect(names()).toEqual(["Renamed elsewhere", "One"]);
        expect(fixture.querySelector(".o_llm_thread_title")?.textContent).toBe("Two");
        expect(fixture.querySelector(".o_llm_notice")?.textContent).toContain("This conversation was deleted in another tab or window.");
        const input = fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!;
        typeIn(input, "Still there?");
        await nextRender();
        expect(fixture.querySelector<HTMLButtonElement>(".o_llm_send")?.disabled).toBe(true);
        expect(backend.requests).toHaveLength(0);
    });

    test("search finds a conversation by what was said in it", async () => {
        const backend = new FakeBackend();
        backend.threads = [
            thread({ id: 1, name: "One", messages: [{ id: 5, role: "user", text: "About invoices", data: {}, date: "" }] }),
            thread({ id: 2, name: "Two" }),
        ];
        const fixture = await mountApp(backend);
        const search = fixture.querySelector<HTMLInputElement>(".o_llm_thread_search")!;
        typeIn(search, "invoices");
        await nextRender();
        expect([...fixture.querySelectorAll(".o_llm_thread_open")].map((b) => b.textContent?.trim())).toEqual(["One"]);
    });
});
