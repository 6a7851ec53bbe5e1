// Hoot tests of the chat UI inside the real web client, with mail's real Chatter.
import { describe, expect, test } from "@odoo/hoot";
import {
    click,
    contains,
    insertText,
    defineMailModels,
    openFormView,
    start,
    startServer,
} from "@mail/../tests/mail_test_helpers";
import { getService, onRpc, serverState } from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");
defineMailModels();

const OPTIONS = {
    models: [{ id: 1, name: "Fake model", provider_id: 1, provider_name: "Fake", is_default: true }],
    tools: [],
    default_tool_names: [],
    assistants: [],
    can_configure: true,
};

function threadData(values = {}) {
    return {
        id: 5, name: "About John", write_date: "2026-01-01 10:00:00", provider_id: 1,
        model_id: 1, auto_model: false, tool_names: [], assistant_id: false, res_model: false, res_id: false, record_name: "",
        generation_state: "idle", generation_error: "", messages: [], ...values,
    };
}

/** llm.thread's UI methods, answered in memory; each call is a step. */
function mockThreads(threads, log = (step) => expect.step(step)) {
    onRpc("llm.thread", "*", ({ method, args, kwargs }) => {
        log(`${method} ${JSON.stringify(kwargs.res_model ? [kwargs.res_model, kwargs.res_id] : args)}`);
        switch (method) {
            case "llm_ui_options":
                return OPTIONS;
            case "llm_ui_list":
                return threads.filter((t) => !kwargs.res_model || (t.res_model === kwargs.res_model && t.res_id === kwargs.res_id));
            case "llm_ui_load":
                return threads.find((t) => t.id === args[0][0]);
            case "llm_ui_prompts":
                return [];
            case "llm_ui_create": {
                const created = threadData({ id: 9, name: "New conversation", res_model: kwargs.res_model, res_id: kwargs.res_id, record_name: "John" });
                threads.unshift(created);
                return created;
            }
        }
    });
}

test("the AI button sits in the chatter top bar, after Activities, and opens the panel", async () => {
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "John" });
    mockThreads([threadData({ res_model: "res.partner", res_id: partnerId, record_name: "John" })]);
    await start();
    await openFormView("res.partner", partnerId);
    await contains(".o-mail-Chatter-activity + .o_llm_chatter_button", { text: "AI" });
    await click(".o_llm_chatter_button");
    await contains(".o_llm_chatter_panel .o_llm_chatter_threads option", { text: "About John" });
    await contains(".o_llm_chatter_panel .o_llm_suggestion", { count: 3 });
    await contains(".o_llm_chatter_panel .o_llm_suggestion", { text: "Summarize John" });
    expect.verifySteps([
        "llm_ui_options []",
        `llm_ui_list ["res.partner",${partnerId}]`,
        "llm_ui_load [[5]]",
        `llm_ui_prompts ["res.partner",${partnerId}]`,
    ]);
    await click(".o_llm_chatter_panel .btn-close");
    await contains(".o_llm_chatter_panel", { count: 0 });
});

test("a record without conversation starts one about it, created by its first message", async () => {
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "John" });
    mockThreads([]);
    await start();
    await openFormView("res.partner", partnerId);
    await click(".o_llm_chatter_button");
    await contains(".o_llm_chatter_panel .o_llm_composer_input:focus");
    await contains(".o_llm_chatter_panel .o_llm_suggestion", { text: "Summarize John" });
    expect.verifySteps([
        "llm_ui_options []",
        `llm_ui_list ["res.partner",${partnerId}]`,
        `llm_ui_prompts ["res.partner",${partnerId}]`,
    ]);
});

test("an unsaved record is saved before the AI panel opens", async () => {
    const pyEnv = await startServer();
    // The test server may reload the form after the save: only the order matters here.
    const calls = [];
    mockThreads([], (step) => calls.push(step));
    onRpc("res.partner", "web_save", () => {
        calls.push("web_save");
    });
    await start();
    await openFormView("res.partner");
    await contains(".o_field_widget[name=name] input");
    // A name, or the record cannot be saved.
    const input = document.querySelector(".o_field_widget[name=name] input");
    input.value = "New partner";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    await click(".o_llm_chatter_button");
    await contains(".o_llm_chatter_panel");
    const [partnerId] = pyEnv["res.partner"].search([["name", "=", "New partner"]]);
    expect(calls.slice(0, 3)).toEqual(["web_save", "llm_ui_options []", `llm_ui_list ["res.partner",${partnerId}]`]);
});

test("LLM Chat shows stored answers as sanitised markdown", async () => {
    mockThreads([
        threadData({
            messages: [
                { id: 1, role: "user", text: "Hi", data: {}, date: "" },
                {
                    id: 2, role: "assistant", date: "",
                    text: "**Bold** <img src=x onerror=alert(1)> [x](javascript:alert(1))",
                    data: { usage: { input_tokens: 3, output_tokens: 4 } },
                },
            ],
        }),
    ]);
    await start();
    await getService("action").doAction("llm_thread.chat");
    // The latest conversation opens by itself.
    await contains(".o_llm_thread_title", { text: "About John" });
    await contains(".o_llm_message_assistant .o_llm_markdown strong", { text: "Bold" });
    expect(".o_llm_message_assistant .o_llm_markdown img").toHaveCount(0);
    expect(".o_llm_message_assistant .o_llm_markdown a").toHaveCount(0);
    await contains(".o_llm_usage", { text: "3 tokens in, 4 out" });
    // Its prompts: those that need no record (the conversation is about none).
    expect.verifySteps(["llm_ui_options []", "llm_ui_list []", "llm_ui_load [[5]]", "llm_ui_prompts []"]);
});

test("LLM Chat streams an answer through the engine's SSE route", async () => {
    mockThreads([threadData()]);
    const events = [
        ["message_created", { message_id: 20, role: "user" }],
        ["budget_warning", { message: "85% of the monthly budget \"Team\" is used." }],
        ["message_created", { message_id: 21, role: "assistant" }],
        ["text_delta", { message_id: 21, text: "**Hello** from" }],
        ["text_delta", { message_id: 21, text: " the stream" }],
        ["usage", { message_id: 21, input_tokens: 7, output_tokens: 8, estimated: false, cost: 0.0012, currency: "USD", model: "Fast", provider: "Fake" }],
        ["message_final", { message_id: 21, finish_reason: "stop", stopped: false, error: null }],
        ["done", { thread_id: 5, state: "idle" }],
    ];
    onRpc(
        "/llm/thread/5/generate",
        async (request) => {
            expect.step(`generate ${new URLSearchParams(await request.text()).get("message")}`);
            const body = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
            // Cut mid-event, as a network would.
            const cut = Math.floor(body.length / 2);
            return new Response(
                new ReadableStream({
                    start(controller) {
                        controller.enqueue(new TextEncoder().encode(body.slice(0, cut)));
                        controller.enqueue(new TextEncoder().encode(body.slice(cut)));
                        controller.close();
                    },
                }),
                { status: 200, headers: { "Content-Type": "text/event-stream" } }
            );
        },
        { pure: true }
    );
    await start();
    await getService("action").doAction("llm_thread.chat");
    // The latest conversation opens by itself.
    await contains(".o_llm_thread_title", { text: "About John" });
    await contains(".o_llm_composer_input");
    await insertText(".o_llm_composer_input", "Hi Hoot");
    await click(".o_llm_send:enabled");
    await contains(".o_llm_message_user", { text: "Hi Hoot" });
    await contains(".o_llm_message_assistant:not(.o_llm_streaming) .o_llm_markdown strong", { text: "Hello" });
    await contains(".o_llm_message_assistant .o_llm_markdown", { text: "Hello from the stream" });
    await contains(".o_llm_usage", { text: "7 tokens in, 8 out" });
    await contains(".o_llm_cost", { text: "$0.0012" });
    await contains(".o_llm_answer_model", { text: "Fast" });
    await contains(".o_llm_budget_warning", { text: '85% of the monthly budget "Team" is used.' });
    await contains(".o_llm_composer_input:focus");
    expect.verifySteps([
        "llm_ui_options []",
        "llm_ui_list []",
        "llm_ui_load [[5]]",
        "llm_ui_prompts []",
        "generate Hi Hoot",
        // The client writes no title (the server names a thread after its first message); the
        // list is reloaded once that message is stored, and again after the answer.
        "llm_ui_list []",
        "llm_ui_list []",
    ]);
});

test("LLM Chat follows live, over Odoo's bus, an answer another tab started", async () => {
    const pyEnv = await startServer();
    const threads = [threadData()];
    mockThreads(threads);
    let release;
    const held = new Promise((resolve) => (release = resolve));
    const frame = (id, name, data) => `id: r:${id}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    onRpc(
        "/llm/thread/5/stream",
        async (request) => {
            expect.step(`stream ${request.headers.get("Last-Event-ID")}`);
            const encoder = new TextEncoder();
            return new Response(
                new ReadableStream({
                    async start(controller) {
                        controller.enqueue(encoder.encode(
                            frame(1, "message_created", { message_id: 1, role: "user" }) +
                            frame(2, "message_created", { message_id: 2, role: "assistant" }) +
                            frame(3, "text_delta", { message_id: 2, text: "Answered" })
                        ));
                        await held;
                        threads[0].messages = [
                            { id: 1, role: "user", text: "Asked in another tab", data: {}, date: "" },
                            { id: 2, role: "assistant", text: "Answered there", data: {}, date: "" },
                        ];
                        threads[0].generation_state = "idle";
                        controller.enqueue(encoder.encode(
                            frame(4, "text_delta", { message_id: 2, text: " there" }) +
                            frame(5, "message_final", { message_id: 2, finish_reason: "stop", stopped: false, error: null }) +
                            frame(6, "done", { thread_id: 5, state: "idle" })
                        ));
                        controller.close();
                    },
                }),
                { status: 200, headers: { "Content-Type": "text/event-stream" } }
            );
        },
        { pure: true }
    );
    await start();
    await getService("action").doAction("llm_thread.chat");
    // The latest conversation opens by itself.
    await contains(".o_llm_thread_title", { text: "About John" });
    await contains(".o_llm_composer_input:enabled");
    const [partner] = pyEnv["res.partner"].read(serverState.partnerId);
    threads[0].generation_state = "generating";
    pyEnv["bus.bus"]._sendone(partner, "llm_thread/generation_state", { thread_id: 5, state: "generating" });
    await contains(".o_llm_message_assistant.o_llm_streaming", { text: "Answered" });
    await contains(".o_llm_stop");
    release();
    await contains(".o_llm_message_assistant:not(.o_llm_streaming)", { text: "Answered there" });
    await contains(".o_llm_send");
    // Read again when it starts (the other tab's question is stored, and the list, where the
    // first question may have named the conversation), then followed.
    expect.verifySteps([
        "llm_ui_options []", "llm_ui_list []", "llm_ui_load [[5]]", "llm_ui_prompts []",
        "llm_ui_list []", "llm_ui_load [[5]]", "stream null", "llm_ui_load [[5]]",
    ]);
});

test("Approve works from the chatter's AI panel: decision, then the conversation goes on", async () => {
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "John" });
    const preview = {
        tool: "update_record", risk: "write", model: "Contact", records: ["John"],
        changes: [{ field: "Phone", old: "", new: "+32 2 555 01 23" }],
    };
    mockThreads([
        threadData({
            res_model: "res.partner", res_id: partnerId, record_name: "John", generation_state: "approval",
            messages: [
                { id: 1, role: "user", text: "Set John's phone", data: {}, date: "" },
                {
                    id: 2, role: "assistant", text: "", date: "",
                    data: {
                        tool_calls: [{ id: "call_1", name: "update_record", arguments: { model: "res.partner", id: partnerId } }],
                        approvals: { call_1: { state: "pending", preview, decided_by: "" } },
                    },
                },
            ],
        }),
    ]);
    onRpc("/llm/thread/5/decide", async (request) => {
        const { params } = await request.json();
        expect.step(`decide ${params.call_id} ${params.approved}`);
        return { call_1: { state: "approved", preview, decided_by: "Mitchell Admin" } };
    });
    onRpc("/llm/thread/5/generate", async (request) => {
        expect.step(`continue ${new URLSearchParams(await request.text()).get("message")}`);
        const events = [
            ["message_created", { message_id: 3, role: "tool" }],
            ["tool_call_finished", { message_id: 3, call_id: "call_1", name: "update_record", result: '{"updated": true}', error: null }],
            ["message_created", { message_id: 4, role: "assistant" }],
            ["text_delta", { message_id: 4, text: "John's phone is updated." }],
            ["message_final", { message_id: 4, finish_reason: "stop", stopped: false, error: null }],
            ["done", { thread_id: 5, state: "idle" }],
        ];
        const body = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
        return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
    }, { pure: true });
    await start();
    await openFormView("res.partner", partnerId);
    await click(".o_llm_chatter_button");
    await contains(".o_llm_chatter_panel .o_llm_tool_approve");
    await contains(".o_llm_chatter_panel .o_llm_tool_call", { text: "+32 2 555 01 23" });
    await click(".o_llm_chatter_panel .o_llm_tool_approve");
    await contains(".o_llm_chatter_panel .o_llm_message_assistant", { text: "John's phone is updated." });
    await contains(".o_llm_chatter_panel .o_llm_tool_approve", { count: 0 });
    expect.verifySteps([
        "llm_ui_options []",
        `llm_ui_list ["res.partner",${partnerId}]`,
        "llm_ui_load [[5]]",
        `llm_ui_prompts ["res.partner",${partnerId}]`,
        "decide call_1 true",
        "continue null",
        `llm_ui_list ["res.partner",${partnerId}]`,
    ]);
});

test("a note an answer posted on the server shows in the open chatter when the answer ends", async () => {
    // Run Assistant posts its note from a run on the server, with no request of this page.
    const pyEnv = await startServer();
    const partnerId = pyEnv["res.partner"].create({ name: "John" });
    pyEnv["mail.message"].create({ body: "Earlier note", model: "res.partner", res_id: partnerId, message_type: "comment" });
    mockThreads([], () => {});
    await start();
    await openFormView("res.partner", partnerId);
    await contains(".o-mail-Message", { text: "Earlier note" });
    pyEnv["mail.message"].create({ body: "Odoo helper (AI): a summary", model: "res.partner", res_id: partnerId, message_type: "comment" });
    const [partner] = pyEnv["res.partner"].read(serverState.partnerId);
    pyEnv["bus.bus"]._sendone(partner, "llm_thread/generation_state", { thread_id: 9, state: "idle" });
    await contains(".o-mail-Message", { text: "Odoo helper (AI): a summary" });
});
