import { reactive } from "@odoo/owl";
import { describe, expect, test, vi } from "vitest";

import { ConversationModel, linksFrom, messagesFromStore, utf16Offset } from "../../../src/ts/conversation/conversation_model";
import { onRecordChanged } from "../../../src/ts/conversation/record_changes";
import { pendingFrom } from "../../../src/ts/composer/attachments";
import { GenerationRefused, StreamInterrupted } from "../../../src/ts/core/transport";
import { streamGeneration } from "../../../src/ts/stream/client";
import type { MessageView } from "../../../src/ts/conversation/types";
import { FakeBackend, answer, holdAnswer, thread, type ScriptedEvent } from "../fake_backend";

async function open(backend: FakeBackend, values = {}) {
    backend.threads = [thread(values)];
    const model = reactive(new ConversationModel(backend));
    await model.load(1);
    return model;
}

/** A fetch answering with an SSE body cut in the given chunks. */
function sseFetch(chunks: string[]): typeof fetch {
    return (async () =>
        new Response(
            new ReadableStream({
                start(controller) {
                    for (const chunk of chunks) {
                        controller.enqueue(new TextEncoder().encode(chunk));
                    }
                    controller.close();
                },
            }),
            { status: 200, headers: { "Content-Type": "text/event-stream" } },
        )) as typeof fetch;
}

function sse(events: [string, object][]): string {
    return events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
}

describe("ConversationModel", () => {
    test("a sent message streams its answer in place, then is done", async () => {
        const backend = new FakeBackend();
        const model = await open(backend);
        backend.scripts.push(answer("Hello **world**"));
        await model.send("  Hi  ");
        expect(backend.requests[0]!.message).toBe("Hi");
        expect(model.messages.map((m) => [m.id, m.role, m.text, m.done])).toEqual([
            [10, "user", "Hi", true],
            [11, "assistant", "Hello **world**", true],
        ]);
        expect(model.messages[1]!.usage).toEqual({ input: 12, output: 34, estimated: false, cost: 0.00042, currency: "USD", model: "Fast", provider: "OpenAI" });
        expect(model.usage).toEqual(model.messages[1]!.usage);
        expect(model.streaming).toBe(false);
        expect(model.announcement).toBe("Answer: Hello **world**");
    });

    test("an empty answer is announced as empty, not complete", async () => {
        const backend = new FakeBackend();
        const model = await open(backend);
        backend.scripts.push(answer("x").filter(([name]) => name !== "text_delta"));
        await model.send("Hi");
        expect(model.messages.at(-1)).toMatchObject({ role: "assistant", text: "", error: "" });
        expect(model.announcement).toBe("The answer is empty.");
    });

    test("a read under way when a question is sent does not take the question away", async () => {
        // The conversation opened again, or another tab's end read it, while the user typed:
        // the read was answered before the question was stored, and arrives after the send.
        const backend = new FakeBackend();
        const model = await open(backend);
        let answerRead: (() => void) | null = null;
        const call = backend.call.bind(backend);
        backend.call = async <T,>(method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<T> => {
            const result = await call<T>(method, args, kwargs);
            if (method === "llm_ui_load" && !answerRead) {
                await new Promise<void>((resolve) => (answerRead = resolve));
            }
            return result;
        };
        const reading = model.load(1);
        const release = holdAnswer(backend);
        const sending = model.send("Go");
        await vi.waitFor(() => expect(model.messages.at(-1)?.text).toBe("Half"));
        answerRead!();
        await reading;
        expect(model.messages.map((m) => [m.role, m.text])).toEqual([["user", "Go"], ["assistant", "Half"]]);
        expect(model.streaming).toBe(true);
        release();
        await sending;
        expect(model.messages.map((m) => [m.role, m.text])).toEqual([["user", "Go"], ["assistant", "Half and whole"]]);
        expect(model.loading).toBe(false);
    });

    test("events split anywhere across chunk boundaries give the same answer", async () => {
        const body = sse(answer("Grüße, ünïcode ✓ and more text").map(([n, p]) => [n, p]));
        const bytes = new TextEncoder().encode(body);
        for (const size of [1, 2, 3, 7, 64]) {
            const chunks: string[] = [];
            // Cut the UTF-8 bytes, decoded per chunk as a network would deliver them.
            const decoder = new TextDecoder();
            for (let i = 0; i < bytes.length; i += size) {
                chunks.push(decoder.decode(bytes.slice(i, i + size), { stream: true }));
            }
            const backend = new FakeBackend();
            backend.startGeneration = (request) => streamGeneration(request, { csrfToken: "t", fetch: sseFetch(chunks) });
            const model = await open(backend);
            await model.send("Hi");
            expect(model.messages[1]!.text).toBe("Grüße, ünïcode ✓ and more text");
            expect(model.notice).toBe("");
        }
    });

    test("a stream that ends before done keeps the partial text and offers a retry", async () => {
        const backend = new FakeBackend();
        const partial = answer("Partial answer").slice(0, 4);
        backend.startGeneration = (request) =>
            streamGeneration(request, { csrfToken: "t", fetch: sseFetch([sse(partial)]) });
        const model = await open(backend);
        await model.send("Hi");
        expect(model.messages[1]!.text).toBe("Partial an");
        expect(model.messages[1]!.done).toBe(true);
        expect(model.noticeCode).toBe("connection_lost");
        expect(model.canSend).toBe(true);
    });

    test("a network error mid-stream is a lost connection, not a crash", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async (request) => {
            request.onEvent("message_created", { message_id: 11, role: "assistant" });
            request.onEvent("text_delta", { message_id: 11, text: "So far" });
            throw new TypeError("network error");
        });
        const model = await open(backend);
        await model.send("Hi");
        expect(model.messages.at(-1)!.text).toBe("So far");
        expect(model.noticeCode).toBe("connection_lost");
        backend.scripts.push(answer("Again", { answerId: 12 }).slice(1));
        await model.retry();
        expect(backend.requests[1]!.message).toBeNull();
        expect(model.notice).toBe("");
        expect(model.messages.at(-1)!.text).toBe("Again");
    });

    test("StreamInterrupted from the engine's client is a lost connection", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async () => {
            throw new StreamInterrupted();
        });
        const model = await open(backend);
        await model.send("Hi");
        expect(model.noticeCode).toBe("connection_lost");
    });

    test("a refusal gives the message back and says why", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async () => {
            throw new GenerationRefused("not_configured", "Choose a provider and a model first.", 400);
        });
        const model = await open(backend);
        await model.send("Hi there");
        expect(model.messages).toEqual([]);
        expect(model.notice).toBe("Choose a provider and a model first.");
        expect(model.rejectedMessage).toBe("Hi there");
    });

    test("the conversation's total counts the calls of earlier versions too, then new answers", async () => {
        const backend = new FakeBackend();
        // The shown answer (the regenerated one) cost 10 + 5 tokens; its earlier version,
        // not shown, 100 + 50: the server's total of the thread's usage lines says so.
        const model = await open(backend, {
            messages: [
                { id: 1, role: "user", text: "Hi", data: {}, date: "" },
                { id: 2, role: "assistant", text: "Hello", data: { usage: { input_tokens: 10, output_tokens: 5, cost: 0.1, currency: "USD", model: "Fast" } }, date: "", versions: [3, 2] },
            ],
            usage: { input_tokens: 110, output_tokens: 55, estimated: false, cost: 1.1, currency: "USD", model: "Fast" },
        });
        expect(model.messages[1]!.usage).toMatchObject({ input: 10, output: 5 });
        expect(model.usage).toMatchObject({ input: 110, output: 55, currency: "USD" });
        expect(model.usage!.cost).toBeCloseTo(1.1);
        // A new answer adds its own call, live.
        backend.scripts.push(answer("Sure."));
        await model.send("Again");
        expect(model.usage).toMatchObject({ input: 122, output: 89 });
        expect(model.usage!.cost).toBeCloseTo(1.10042);
    });

    test("attachments are uploaded, then sent with the message, which shows them", async () => {
        const backend = new FakeBackend();
        const model = await open(backend);
        backend.scripts.push(answer("A red square."));
        const image = new File(["png"], "image.png", { type: "image/png" });
        const uploaded = { key: 9, name: "notes.md", mimetype: "text/markdown", file: null, id: 42, previewUrl: "" };
        const local = { key: 8, name: "image.png", mimetype: "image/png", file: image, id: null, previewUrl: "blob:x" };
        await model.send("What is this?", undefined, [local, uploaded]);
        expect(backend.uploads).toEqual([[1, image]]);
        expect(backend.requests[0]!.attachmentIds).toEqual([501, 42]);
        expect(model.messages[0]!.attachments).toEqual([
            { id: 501, name: "image.png", mimetype: "image/png" },
            { id: 42, name: "notes.md", mimetype: "text/markdown" },
        ]);
        expect(messagesFromStore([
            { id: 10, role: "user", text: "What is this?", data: {}, date: "", attachments: [{ id: 501, name: "image.png", mimetype: "image/png" }] },
        ])[0]!.attachments).toEqual([{ id: 501, name: "image.png", mimetype: "image/png" }]);
    });

    test("a question of files alone is sent, its text empty", async () => {
        const backend = new FakeBackend();
        const model = await open(backend);
        backend.scripts.push(answer("A red square."));
        const image = { key: 8, name: "image.png", mimetype: "image/png", file: new File(["png"], "image.png", { type: "image/png" }), id: null, previewUrl: "blob:x" };
        await model.send("  ", undefined, [image]);
        expect(backend.requests[0]).toMatchObject({ message: "", attachmentIds: [501] });
        expect(model.messages[0]).toMatchObject({ role: "user", text: "", attachments: [{ id: 501, name: "image.png" }] });
        await model.send(" ");
        expect(backend.requests).toHaveLength(1);
    });

    test("an edit sends the files of its box, new ones uploaded first, or none", async () => {
        const backend = new FakeBackend();
        const model = await open(backend, {
            messages: [
                { id: 1, role: "user", text: "What is this?", data: {}, date: "", attachments: [{ id: 42, name: "a.png", mimetype: "image/png" }, { id: 43, name: "b.md", mimetype: "text/markdown" }] },
                { id: 2, role: "assistant", text: "Two files.", data: {}, date: "" },
            ],
        });
        backend.scripts.push(answer("One file."));
        const kept = pendingFrom({ id: 43, name: "b.md", mimetype: "text/markdown" });
        const added = { key: 99, name: "c.txt", mimetype: "text/plain", file: new File(["c"], "c.txt"), id: null, previewUrl: "" };
        await model.editAndResend(1, "And these?", [kept, added]);
        expect(backend.uploads.map(([thread, file]) => [thread, file.name])).toEqual([[1, "c.txt"]]);
        expect(backend.requests[0]).toMatchObject({ message: "And these?", attachmentIds: [43, 501], action: { kind: "edit", messageId: 1 } });
        backend.scripts.push(answer("No file."));
        await model.editAndResend(1, "Nothing attached", []);
        expect(backend.requests[1]!.attachmentIds).toBeUndefined();
    });

    test("a refused edit keeps its box's text and files, those uploaded as uploaded", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async () => {
            throw new GenerationRefused("invalid_attachment", "Fast cannot read images: pick a model with vision (or Auto), or send the message without its images.", 400);
        });
        const model = await open(backend, { messages: [{ id: 1, role: "user", text: "Hi", data: {}, date: "" }] });
        const image = { key: 1, name: "image.png", mimetype: "image/png", file: new File(["png"], "image.png", { type: "image/png" }), id: null, previewUrl: "blob:x" };
        await model.editAndResend(1, "What is this?", [image]);
        expect(model.notice).toMatch(/cannot read images/);
        expect(model.refusedEdit).toMatchObject({ id: 1, text: "What is this?" });
        expect(model.refusedEdit!.attachments.map((a) => [a.id, a.name, a.file])).toEqual([[501, "image.png", null]]);
        // A refused upload too: the edit box gets its files back, the conversation as it was.
        backend.refusedUploads.set("scan.pdf", "No text could be read from scan.pdf.");
        const scan = { key: 2, name: "scan.pdf", mimetype: "application/pdf", file: new File(["x"], "scan.pdf"), id: null, previewUrl: "" };
        await model.editAndResend(1, "Read it", [scan]);
        expect(backend.requests).toHaveLength(1);
        expect(model.notice).toBe("No text could be read from scan.pdf.");
        expect(model.refusedEdit).toMatchObject({ id: 1, text: "Read it", attachments: [{ name: "scan.pdf", id: null }] });
        expect(model.messages.map((m) => m.id)).toEqual([1]);
        expect(model.rejectedMessage).toBe("");
    });

    test("a refused upload gives the message and its files back, those uploaded kept", async () => {
        const backend = new FakeBackend();
        const model = await open(backend);
        const files = ["a.txt", "scan.pdf"].map((name, key) => ({
            key, name, mimetype: "text/plain", file: new File(["x"], name), id: null, previewUrl: "",
        }));
        backend.refusedUploads.set("scan.pdf", "No text could be read from scan.pdf: attach a PDF with text (not a scan), or the document as text.");
        await model.send("Read these", undefined, files);
        expect(backend.requests).toEqual([]);
        expect(model.messages).toEqual([]);
        expect(model.notice).toMatch(/^No text could be read from scan.pdf/);
        expect(model.rejectedMessage).toBe("Read these");
        expect(model.rejectedAttachments.map((a) => [a.name, a.id, a.file?.name ?? null])).toEqual([
            ["a.txt", 501, null],
            ["scan.pdf", null, "scan.pdf"],
        ]);
        expect(model.canSend).toBe(true);
    });

    test("every refused file is told at the same Send, not one per Send", async () => {
        const backend = new FakeBackend();
        const model = await open(backend);
        const files = ["long.txt", "a.txt", "scan.pdf"].map((name, key) => ({
            key, name, mimetype: "text/plain", file: new File(["x"], name), id: null, previewUrl: "",
        }));
        backend.refusedUploads.set("long.txt", "The text of long.txt is too long.");
        backend.refusedUploads.set("scan.pdf", "No text could be read from scan.pdf.");
        await model.send("Read these", undefined, files);
        expect(model.notice).toBe("The text of long.txt is too long. No text could be read from scan.pdf.");
        expect(model.rejectedAttachments.map((a) => [a.name, a.id])).toEqual([
            ["long.txt", null],
            ["a.txt", 501],
            ["scan.pdf", null],
        ]);
        expect(backend.requests).toEqual([]);
    });

    test("a message refused for its images (no vision) gives them back uploaded", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async () => {
            throw new GenerationRefused("invalid_attachment", "Fast cannot read images: pick a model with vision (or Auto), or send the message without its images.", 400);
        });
        const model = await open(backend);
        const image = { key: 1, name: "image.png", mimetype: "image/png", file: new File(["png"], "image.png", { type: "image/png" }), id: null, previewUrl: "blob:x" };
        await model.send("What is this?", undefined, [image]);
        expect(model.messages).toEqual([]);
        expect(model.notice).toMatch(/cannot read images/);
        expect(model.rejectedAttachments.map((a) => [a.id, a.file, a.previewUrl])).toEqual([[501, null, "/web/image/501/160x160"]]);
        backend.scripts.push(answer("Red."));
        await model.send("What is this?", undefined, model.rejectedAttachments);
        expect(backend.uploads).toHaveLength(1);
        expect(backend.requests[1]!.attachmentIds).toEqual([501]);
    });

    test("already generating elsewhere disables sending", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async () => {
            throw new GenerationRefused("already_generating", "Busy", 409);
        });
        const model = await open(backend);
        await model.send("Hi");
        expect(model.busyElsewhere).toBe(true);
        expect(model.canSend).toBe(false);
    });

    test("refused for another tab's answer: said while that answer is followed, gone once it is written", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async () => {
            // The other tab's question was stored a moment before ours came.
            backend.threads[0]!.generation_state = "generating";
            throw new GenerationRefused("already_generating", "This conversation is already generating an answer.", 409);
        });
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        backend.follows.push(async (request) => {
            request.onEvent("message_created", { message_id: 12, role: "assistant" }, "r:1");
            request.onEvent("text_delta", { message_id: 12, text: "Theirs" }, "r:2");
            await held;
            request.onEvent("message_final", { message_id: 12, finish_reason: "stop", stopped: false, error: null }, "r:3");
            backend.threads[0]!.generation_state = "idle";
            request.onEvent("done", { thread_id: 1, state: "idle" }, "r:4");
        });
        const model = await open(backend);
        await model.send("Mine");
        expect(model.rejectedMessage).toBe("Mine");
        // The bus tells the other tab's generation started: this tab reads and follows it.
        await model.onGenerationState("generating");
        await vi.waitFor(() => expect(model.messages.at(-1)?.text).toBe("Theirs"));
        expect(model.notice).toBe("This conversation is already generating an answer.");
        release();
        await vi.waitFor(() => expect(model.streaming).toBe(false));
        expect(model.notice).toBe("");
        expect(model.canSend).toBe(true);
    });

    test("a stream taken over by another request ends busy elsewhere, its partial answer kept", async () => {
        const backend = new FakeBackend();
        backend.scripts.push([
            ["message_created", { message_id: 11, role: "assistant" }],
            ["text_delta", { message_id: 11, text: "Half" }],
            ["message_final", { message_id: 11, finish_reason: "lost", stopped: true, error: null }],
            ["error", { code: "already_generating", message: "Another request took over.", message_id: 11 }],
            ["done", { thread_id: 1, state: "generating" }],
        ]);
        const model = await open(backend);
        await model.send("Hi");
        expect(model.messages.at(-1)).toMatchObject({ text: "Half", error: "Another request took over." });
        expect(model.busyElsewhere).toBe(true);
        expect(model.canSend).toBe(false);
    });

    test("a thread generating where this tab cannot follow it is shown busy on load", async () => {
        const backend = new FakeBackend();
        const model = await open(backend, { generation_state: "generating" });
        await vi.waitFor(() => expect(backend.followRequests).toHaveLength(1));
        // The stream route said "done" while the thread stays busy: nothing here to follow.
        await vi.waitFor(() => expect(model.busyElsewhere).toBe(true));
        expect(model.canSend).toBe(false);
        expect(backend.followRequests).toHaveLength(1);
    });

    test("a reload mid-answer follows it: the text so far once, then live, nothing doubled", async () => {
        const backend = new FakeBackend();
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        backend.follows.push(async (request) => {
            expect(request.lastEventId).toBeNull();
            // The replay: the answer loaded with its last saved text starts again from here.
            request.onEvent("message_created", { message_id: 10, role: "user" }, "r:1");
            request.onEvent("message_created", { message_id: 11, role: "assistant" }, "r:2");
            request.onEvent("text_delta", { message_id: 11, text: "Half an " }, "r:5");
            await held;
            request.onEvent("text_delta", { message_id: 11, text: "answer" }, "r:6");
            request.onEvent("message_final", { message_id: 11, finish_reason: "stop", stopped: false, error: null }, "r:7");
            backend.threads[0]!.generation_state = "idle";
            backend.threads[0]!.messages[1]!.text = "Half an answer";
            request.onEvent("done", { thread_id: 1, state: "idle" }, "r:8");
        });
        const model = await open(backend, {
            generation_state: "generating",
            messages: [
                { id: 10, role: "user", text: "Go", data: {}, date: "" },
                // Saved half a second ago, marked interrupted until its final write.
                { id: 11, role: "assistant", text: "Half", data: { finish_reason: "interrupted", interrupted: true }, date: "" },
            ],
        });
        await vi.waitFor(() => expect(model.messages[1]!.text).toBe("Half an "));
        expect(model.streaming).toBe(true);
        expect(model.messages[1]).toMatchObject({ done: false, interrupted: false });
        release();
        await vi.waitFor(() => expect(model.streaming).toBe(false));
        await vi.waitFor(() => expect(model.messages[1]).toMatchObject({ text: "Half an answer", done: true }));
        expect(model.messages).toHaveLength(2);
        expect(model.canSend).toBe(true);
    });

    test("a lost connection mid-answer follows again from the last event, nothing lost or doubled", async () => {
        const backend = new FakeBackend();
        backend.scripts.push(async (request) => {
            request.onEvent("message_created", { message_id: 10, role: "user" }, "r:1");
            request.onEvent("message_created", { message_id: 11, role: "assistant" }, "r:2");
            request.onEvent("text_delta", { message_id: 11, text: "Half" }, "r:3");
            throw new StreamInterrupted();
        });
        backend.follows.push(async (request) => {
            expect(request.lastEventId).toBe("r:3");
            request.onEvent("text_delta", { message_id: 11, text: " and whole" }, "r:4");
            request.onEvent("message_final", { message_id: 11, finish_reason: "stop", stopped: false, error: null }, "r:5");
            request.onEvent("done", { thread_id: 1, state: "idle" }, "r:6");
        });
        const model = await open(backend);
        await model.send("Go");
        expect(model.messages.map((m) => [m.id, m.text, m.done])).toEqual([
            [10, "Go", true],
            [11, "Half and whole", true],
        ]);
        expect(model.notice).toBe("");
        expect(backend.followRequests).toHaveLength(1);
    });

    test("another tab's answer is followed live when the bus says it started", async () => {
        // (ChatController passes the bus's generation states to the open conversation.)
        const backend = new FakeBackend();
        const model = await open(backend);
        backend.follows.push([
            ["message_created", { message_id: 20, role: "user" }],
            ["message_created", { message_id: 21, role: "assistant" }],
            ["text_delta", { message_id: 21, text: "From the other tab" }],
        ]);
        backend.threads[0]!.generation_state = "generating";
        void model.onGenerationState("generating");
        await vi.waitFor(() => expect(model.messages.at(-1)?.text).toBe("From the other tab"));
        expect(model.streaming).toBe(true);
    });

    test("stop asks the server and the stream ends with the partial answer marked stopped", async () => {
        const backend = new FakeBackend();
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        backend.scripts.push(async (request) => {
            request.onEvent("message_created", { message_id: 11, role: "assistant" });
            request.onEvent("text_delta", { message_id: 11, text: "Half an ans" });
            await gate; // the server waits for the stop
            request.onEvent("message_final", { message_id: 11, finish_reason: "stop", stopped: true, error: null });
            request.onEvent("done", { thread_id: 1, state: "idle" });
        });
        const model = await open(backend);
        const sending = model.send("Hi");
        await Promise.resolve();
        expect(model.streaming).toBe(true);
        const stopping = model.stop();
        expect(model.stopping).toBe(true);
        await stopping;
        expect(backend.rpcs).toEqual([["/llm/thread/1/stop", {}]]);
        release();
        await sending;
        const last = model.messages.at(-1)!;
        expect([last.text, last.stopped, last.done]).toEqual(["Half an ans", true, true]);
        expect(model.streaming).toBe(false);
        expect(model.announcement).toBe("The answer was stopped.");
    });

    test("waiting shows at once, the back-off counts down, the first token ends both", async () => {
        vi.useFakeTimers();
        try {
            const backend = new FakeBackend();
            let release!: () => void;
            const gate = new Promise<void>((resolve) => (release = resolve));
            const seen: [boolean, number | null][] = [];
            backend.scripts.push(async (request) => {
                seen.push([model.awaitingAnswer, model.retryIn]);
                request.onEvent("message_created", { message_id: 10, role: "user" });
                request.onEvent("retrying", { seconds: 3, code: "rate_limit" });
                seen.push([model.awaitingAnswer, model.retryIn]);
                vi.advanceTimersByTime(1000);
                seen.push([model.awaitingAnswer, model.retryIn]);
                request.onEvent("heartbeat", {});
                seen.push([model.awaitingAnswer, model.retryIn]);
                await gate;
                for (const event of answer("Hi there").slice(1)) {
                    request.onEvent(event[0] as never, event[1] as never);
                    if (event[0] === "message_created") {
                        seen.push([model.awaitingAnswer, model.retryIn]);
                    }
                }
            });
            const model = await open(backend);
            const sending = model.send("Hello?");
            release();
            await sending;
            expect(seen).toEqual([[true, null], [true, 3], [true, 2], [true, 2], [false, null]]);
            expect(model.awaitingAnswer).toBe(false);
            expect(vi.getTimerCount()).toBe(0);
        } finally {
            vi.useRealTimers();
        }
    });

    test("Retry on a failed answer regenerates it: the error becomes an earlier version", async () => {
        const backend = new FakeBackend();
        backend.scripts.push([
            ["message_created", { message_id: 10, role: "user" }],
            ["message_created", { message_id: 11, role: "assistant" }],
            ["message_final", { message_id: 11, finish_reason: "error", stopped: false, error: "Down" }],
            ["error", { code: "server", message: "Down", message_id: 11 }],
            ["done", { thread_id: 1, state: "error" }],
        ]);
        const model = await open(backend);
        await model.send("Hi");
        expect(model.messages.at(-1)!.error).toBe("Down");
        // The error's alert says it failed: no "complete" heard besides.
        expect(model.announcement).toBe("");
        backend.scripts.push(answer("Fine", { answerId: 12 }).slice(1));
        await model.retry();
        expect(backend.requests[1]!.action).toEqual({ kind: "regenerate", messageId: 11 });
        expect(backend.requests[1]!.message).toBeNull();
    });

    test("Retry on an answer still cut after its continuation failed continues it", async () => {
        const backend = new FakeBackend();
        const model = await open(backend, {
            messages: [
                { id: 10, role: "user", text: "Write a long text", data: {}, date: "" },
                {
                    id: 11, role: "assistant", text: "The first half", date: "",
                    data: { finish_reason: "length", error: { code: "auth", message: "Bad key" } },
                },
            ],
        });
        backend.scripts.push([["done", { thread_id: 1, state: "idle" }]]);
        await model.retry();
        expect(backend.requests[0]!.action).toEqual({ kind: "continue", messageId: 11 });
    });

    test("Retry on a failed step after tool calls answers from their results, which stay shown", async () => {
        const backend = new FakeBackend();
        const model = await open(backend, {
            messages: [
                { id: 10, role: "user", text: "Change the phone", data: {}, date: "" },
                { id: 11, role: "assistant", text: "", date: "", data: { tool_calls: [{ id: "w1", name: "update_record", arguments: {} }] } },
                { id: 12, role: "tool", text: '{"updated": true}', date: "", data: { tool_call_id: "w1", name: "update_record" } },
                { id: 13, role: "assistant", text: "", date: "", data: { finish_reason: "error", error: { code: "auth", message: "Bad key" } } },
            ],
        });
        let shown: number[] = [];
        backend.scripts.push(async (request) => {
            shown = model.messages.map((m) => m.id);
            request.onEvent("done", { thread_id: 1, state: "idle" });
        });
        await model.retry();
        expect(backend.requests[0]!.action).toEqual({ kind: "regenerate", messageId: 13 });
        expect(shown).toEqual([10, 11]);
    });

    test("Stop before the first token keeps the question, marked stopped, with a retry", async () => {
        const backend = new FakeBackend();
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        backend.scripts.push(async (request) => {
            request.onEvent("message_created", { message_id: 10, role: "user" });
            request.onEvent("retrying", { seconds: 8, code: "rate_limit" });
            await gate; // the server cancels the back-off and ends without an answer
            request.onEvent("done", { thread_id: 1, state: "idle" });
        });
        const model = await open(backend);
        const sending = model.send("Hello?");
        await Promise.resolve();
        expect(model.unanswered).toBe(false);
        await model.stop();
        release();
        await sending;
        expect(model.messages.map((m) => [m.id, m.role, m.text])).toEqual([[10, "user", "Hello?"]]);
        expect([model.unanswered, model.stoppedBeforeAnswer, model.retryIn]).toEqual([true, true, null]);
        backend.scripts.push(answer("Hi").slice(1));
        await model.retry();
        expect(backend.requests[1]!.message).toBeNull();
        expect(model.messages.at(-1)!.text).toBe("Hi");
        expect([model.unanswered, model.stoppedBeforeAnswer]).toEqual([false, false]);
    });

    test("a refusal, a cut answer and an error's detail, streamed and stored", async () => {
        const backend = new FakeBackend();
        const final = (id: number, reason: string) =>
            ["message_final", { message_id: id, finish_reason: reason, stopped: false, error: null }] as ScriptedEvent;
        backend.scripts.push([
            ["message_created", { message_id: 11, role: "assistant" }],
            ["text_delta", { message_id: 11, text: "I can't help with that." }],
            final(11, "refusal"),
            ["message_created", { message_id: 12, role: "assistant" }],
            ["text_delta", { message_id: 12, text: "Once upon" }],
            final(12, "length"),
            ["message_created", { message_id: 13, role: "assistant" }],
            ["message_final", { message_id: 13, finish_reason: "error", stopped: false, error: "Key rejected." }],
            ["error", { code: "auth", message: "Key rejected.", detail: "Incorrect API key provided.", message_id: 13 }],
            ["done", { thread_id: 1, state: "error" }],
        ]);
        const model = await open(backend);
        await model.send("Hi");
        const views = (messages: MessageView[]) =>
            messages.filter((m) => m.role === "assistant").map((m) => [m.finishReason, m.error, m.errorDetail]);
        const expected = [
            ["refusal", "", ""],
            ["length", "", ""],
            ["error", "Key rejected.", "Incorrect API key provided."],
        ];
        expect(views(model.messages)).toEqual(expected);
        const stored = messagesFromStore([
            { id: 11, role: "assistant", text: "I can't help with that.", data: { finish_reason: "refusal" }, date: "" },
            { id: 12, role: "assistant", text: "Once upon", data: { finish_reason: "length" }, date: "" },
            {
                id: 13, role: "assistant", text: "", date: "",
                data: { finish_reason: "error", error: { code: "auth", message: "Key rejected.", detail: "Incorrect API key provided." } },
            },
        ]);
        expect(views(stored)).toEqual(expected);
    });

    test("a call id reused by a later answer (Ollama) updates only that answer's card", async () => {
        const backend = new FakeBackend();
        const turn = (answerId: number, toolId: number, result: string) => [
            ["message_created", { message_id: answerId, role: "assistant" }],
            ["tool_call_started", { message_id: answerId, call_id: "call_0", name: "read_record", arguments: {} }],
            ["tool_call_finished", { message_id: toolId, call_id: "call_0", name: "read_record", result, error: null, records: [] }],
            ["message_final", { message_id: answerId, finish_reason: "tool_calls", stopped: false, error: null }],
            ["done", { thread_id: 1, state: "idle" }],
        ] as [string, Record<string, unknown>][];
        backend.scripts.push(turn(11, 12, "first"), turn(21, 22, "second"));
        const model = await open(backend);
        await model.send("One");
        await model.send("Two");
        const results = model.messages.filter((m) => m.role === "assistant").map((m) => m.toolCalls[0]!.result);
        expect(results).toEqual(["first", "second"]);
    });

    test("reasoning, tool calls and errors of a streamed answer", async () => {
        const backend = new FakeBackend();
        backend.scripts.push([
            ["message_created", { message_id: 11, role: "assistant" }],
            ["reasoning_delta", { message_id: 11, text: "Let me look" }],
            ["tool_call_started", { message_id: 11, call_id: "c1", name: "read_record", arguments: { model: "res.partner", id: 7 } }],
            ["tool_call_finished", {
                message_id: 12, call_id: "c1", name: "read_record", result: '{"name": "Azure"}', error: null,
                records: [{ model: "res.partner", id: 7, label: "Azure Interior", changed: false }],
            }],
            ["tool_call_started", { message_id: 11, call_id: "c2", name: "search_records", arguments: { model: "res.partner" } }],
            ["tool_call_finished", { message_id: 13, call_id: "c2", name: "search_records", result: null, error: "Access denied", records: [] }],
            ["text_delta", { message_id: 11, text: "Done." }],
            ["error", { code: "rate_limit", message: "Slow down", message_id: 11 }],
            ["done", { thread_id: 1, state: "error" }],
        ]);
        const model = await open(backend);
        await model.send("Hi");
        const view = model.messages.at(-1)!;
        expect(view.reasoning).toBe("Let me look");
        expect(view.reasoningSeconds).toBeGreaterThanOrEqual(1);
        expect(view.toolCalls.map((c) => [c.name, c.status, c.result, c.error])).toEqual([
            ["read_record", "done", '{"name": "Azure"}', ""],
            ["search_records", "error", "", "Access denied"],
        ]);
        // The records' names come from the server, read with the user's rights.
        expect(view.toolCalls[0]!.records).toEqual([{ model: "res.partner", id: 7, label: "Azure Interior", changed: false }]);
        expect(view.error).toBe("Slow down");
    });

    test("a budget warning read with the thread shows at once, as after a reload", async () => {
        const model = await open(new FakeBackend(), { budget_warning: "85% of the monthly budget" });
        expect(model.budgetWarning).toBe("85% of the monthly budget");
    });

    test("a budget warning is shown until the next answer; a budget refusal is the answer's error", async () => {
        const backend = new FakeBackend();
        const [userCreated, ...rest] = answer("Sure.");
        backend.scripts.push([userCreated!, ["budget_warning", { message: "85% of the monthly budget" }], ...rest]);
        backend.scripts.push([
            ["message_created", { message_id: 20, role: "user" }],
            ["message_created", { message_id: 21, role: "assistant" }],
            ["message_final", { message_id: 21, finish_reason: "error", stopped: false, error: "Over budget" }],
            ["error", { code: "budget_exceeded", message: "Over budget", message_id: 21 }],
            ["done", { thread_id: 1, state: "error" }],
        ]);
        const model = await open(backend);
        await model.send("Hi");
        expect(model.budgetWarning).toBe("85% of the monthly budget");
        expect(model.messages.at(-1)!.text).toBe("Sure.");
        await model.send("Again");
        expect(model.budgetWarning).toBe("");
        expect(model.messages.map((m) => m.id)).toEqual([10, 11, 20, 21]);
        expect(model.messages.at(-1)!.error).toBe("Over budget");
        expect(model.messages.at(-1)!.usage).toBeNull();
        expect(model.notice).toBe("");
    });

    test("a call waiting for approval: Approve records the decision, then continues", async () => {
        const backend = new FakeBackend();
        const preview = { tool: "update_record", risk: "write", model: "Contact", records: ["Azure"], changes: [] };
        backend.scripts.push([
            ["message_created", { message_id: 10, role: "user" }],
            ["message_created", { message_id: 11, role: "assistant" }],
            ["tool_call_started", { message_id: 11, call_id: "w1", name: "update_record", arguments: { model: "res.partner", id: 7 } }],
            ["message_final", { message_id: 11, finish_reason: "tool_calls", stopped: false, error: null }],
            ["approval_required", { message_id: 11, call_id: "w1", name: "update_record", preview }],
            ["done", { thread_id: 1, state: "approval" }],
        ]);
        const model = await open(backend);
        await model.send("Rename Azure");
        const card = model.messages.at(-1)!.toolCalls[0]!;
        expect([card.status, card.approval?.state, model.pendingApprovals]).toEqual(["approval", "pending", 1]);
        expect(model.thread!.generation_state).toBe("approval");
        expect(model.announcement).toBe("An action waits for your approval.");

        backend.scripts.push([
            ["message_created", { message_id: 12, role: "tool" }],
            ["tool_call_finished", {
                message_id: 12, call_id: "w1", name: "update_record", result: '{"updated": true}', error: null,
                records: [{ model: "res.partner", id: 7, label: "Azure", changed: true }],
            }],
            ...answer("Renamed.", { answerId: 13 }).slice(1),
        ]);
        const reloads: string[] = [];
        const stopListening = [
            onRecordChanged(() => ({ model: "res.partner", id: 7 }), () => reloads.push("Azure's form")),
            onRecordChanged(() => ({ model: "res.partner", id: 8 }), () => reloads.push("another form")),
        ];
        await model.decide("w1", true);
        stopListening.forEach((stop) => stop());
        // Only the form showing the changed record reloads.
        expect(reloads).toEqual(["Azure's form"]);
        expect(backend.rpcs.at(-1)).toEqual(["/llm/thread/1/decide", { call_id: "w1", approved: true }]);
        expect(backend.requests.at(-1)!.message).toBeNull();
        expect([card.status, card.approval?.state]).toEqual(["done", "approved"]);
        expect(model.messages.at(-1)!.text).toBe("Renamed.");
    });

    test("a new message instead of a decision expires the waiting call", async () => {
        const backend = new FakeBackend();
        const preview = { tool: "update_record", risk: "write", model: "", records: [], changes: [] };
        backend.threads = [thread({ generation_state: "approval" })];
        backend.threads[0]!.messages = [{
            id: 2, role: "assistant", text: "", date: "",
            data: { tool_calls: [{ id: "w1", name: "update_record", arguments: {} }], approvals: { w1: { state: "pending", preview } } },
        }];
        const model = reactive(new ConversationModel(backend));
        await model.load(1);
        expect(model.pendingApprovals).toBe(1);
        backend.scripts.push(answer("Ok."));
        await model.send("Never mind");
        const card = model.messages[0]!.toolCalls[0]!;
        expect([card.status, card.approval?.state, model.pendingApprovals]).toEqual(["error", "expired", 0]);
    });
});

describe("citations while streaming", () => {
    test("an answer shows the chips of the passages it cites as it streams, before it ends", async () => {
        const backend = new FakeBackend();
        const knowledge = [
            { n: 1, label: "policy.md", url: "/web/content/4", quote: "Returns within 30 days.", chunk_id: 8 },
            { n: 2, label: "Shipping", url: "https://example.com/shipping", quote: "Parcels leave at noon." },
        ];
        const seen: string[][] = [];
        backend.scripts.push(async (request) => {
            request.onEvent("message_created", { message_id: 10, role: "user" });
            request.onEvent("citations", { message_id: 10, citations: knowledge });
            request.onEvent("message_created", { message_id: 11, role: "assistant" });
            for (const text of ["Parcels leave at noon ", "[2", "]. Returns: 30 days [1]."]) {
                request.onEvent("text_delta", { message_id: 11, text });
                const view = model.messages.at(-1)!;
                seen.push([String(view.done), ...(view.citations ?? []).map((c) => c.label)]);
            }
            request.onEvent("message_final", { message_id: 11, finish_reason: "stop", stopped: false, error: null });
            request.onEvent("done", { thread_id: 1, state: "idle" });
        });
        const model = await open(backend);
        await model.send("When do parcels leave?");
        expect(seen).toEqual([["false"], ["false"], ["false", "policy.md", "Shipping"]]);
        expect(model.messages[0]!.knowledge!.map((c) => c.n)).toEqual([1, 2]);
        expect(model.messages[1]!.citations!.map((c) => c.url)).toEqual(["/web/content/4", "https://example.com/shipping"]);
    });
});

describe("messagesFromStore", () => {
    test("an answer cites the passages its question was given, by number, after a reload", () => {
        const knowledge = [
            { n: 1, label: "policy.md", url: "/web/content/4", quote: "Returns within 30 days." },
            { n: 2, label: "Azure Interior", url: "/odoo/res.partner/7", quote: "Supplier" },
            { n: "3", label: "malformed" },
        ];
        const views = messagesFromStore([
            { id: 1, role: "user", text: "Returns?", data: { knowledge }, date: "" },
            { id: 2, role: "assistant", text: "Within 30 days [1].", data: {}, date: "" },
            { id: 3, role: "user", text: "Thanks", data: {}, date: "" },
            { id: 4, role: "assistant", text: "You are welcome [1].", data: {}, date: "" },
        ]);
        expect(views[1]!.citations).toEqual([knowledge[0]]);
        expect(views[3]!.citations).toEqual([]);
    });

    test("tool results fold into the answer that called them, as after a reload", () => {
        const views = messagesFromStore([
            { id: 1, role: "user", text: "Find Azure", data: {}, date: "" },
            {
                id: 2, role: "assistant", text: "", date: "",
                data: { reasoning: "hmm", tool_calls: [{ id: "c1", name: "search_records", arguments: { model: "res.partner" } }] },
            },
            {
                id: 3, role: "tool", text: '[{"id": 7, "display_name": "Azure"}]', date: "",
                data: { tool_call_id: "c1", name: "search_records", records: [{ model: "res.partner", id: 7, label: "Azure Interior", changed: false }] },
            },
            { id: 4, role: "assistant", text: "Found it.", data: { usage: { input_tokens: 5, output_tokens: 6 }, stopped: true }, date: "" },
        ]);
        expect(views.map((v) => [v.id, v.role, v.text])).toEqual([[1, "user", "Find Azure"], [2, "assistant", ""], [4, "assistant", "Found it."]]);
        expect(views[1]!.reasoning).toBe("hmm");
        expect(views[1]!.toolCalls[0]!.status).toBe("done");
        expect(views[1]!.toolCalls[0]!.records).toEqual([{ model: "res.partner", id: 7, label: "Azure Interior", changed: false }]);
        expect(views[2]!.usage).toEqual({ input: 5, output: 6, estimated: false, cost: null, currency: "", model: "", provider: "" });
        expect(views[2]!.stopped).toBe(true);
    });

    test("an answer its server died writing reads as interrupted, unless still being written", async () => {
        const [view] = messagesFromStore([
            { id: 2, role: "assistant", text: "Half", date: "", data: { finish_reason: "interrupted", interrupted: true } },
        ]);
        expect([view!.interrupted, view!.stopped]).toEqual([true, false]);
        const messages = [
            { id: 1, role: "user" as const, text: "q", data: {}, date: "" },
            { id: 2, role: "assistant" as const, text: "Half", data: { interrupted: true }, date: "" },
        ];
        const generating = await open(new FakeBackend(), { generation_state: "generating", messages });
        expect([generating.busyElsewhere, generating.messages[1]!.interrupted]).toEqual([true, false]);
        const cut = await open(new FakeBackend(), { generation_state: "error", messages });
        expect(cut.messages[1]!.interrupted).toBe(true);
    });

    test("a call without a stored result reads as interrupted", () => {
        const [view] = messagesFromStore([
            { id: 2, role: "assistant", text: "", date: "", data: { tool_calls: [{ id: "c1", name: "x", arguments: {} }] } },
        ]);
        expect(view!.toolCalls[0]!.status).toBe("error");
    });

    test("stored approvals: a pending call waits again, an expired one says why it never ran", () => {
        const preview = { tool: "update_record", risk: "write", model: "", records: [], changes: [] };
        const [view] = messagesFromStore([
            {
                id: 2, role: "assistant", text: "", date: "",
                data: {
                    tool_calls: [{ id: "w1", name: "update_record", arguments: {} }, { id: "w2", name: "update_record", arguments: {} }],
                    approvals: { w1: { state: "pending", preview }, w2: { state: "expired", preview } },
                },
            },
        ]);
        expect(view!.toolCalls.map((c) => [c.status, c.approval?.state])).toEqual([["approval", "pending"], ["error", "expired"]]);
        expect(view!.toolCalls[1]!.error).toContain("new message");
    });

    test("record links keep only well-formed entries from the server", () => {
        expect(linksFrom("not a list")).toEqual([]);
        expect(linksFrom([{ model: "res.partner", id: "7", label: "x", changed: false }, null])).toEqual([]);
    });

    test("a call sits where it came in the text (stored offsets count code points)", () => {
        const [view] = messagesFromStore([
            {
                id: 2, role: "assistant", text: "🙂 I will rename it.Done.", date: "",
                data: { tool_calls: [{ id: "c1", name: "x", arguments: {}, offset: 19 }, { id: "c2", name: "y", arguments: {} }] },
            },
        ]);
        expect(view!.text.slice(0, view!.toolCalls[0]!.textOffset)).toBe("🙂 I will rename it.");
        // Stored before offsets were: after the text, where the model usually calls.
        expect(view!.toolCalls[1]!.textOffset).toBe(view!.text.length);
        expect(utf16Offset("ab", 5)).toBe(2);
    });

    test("a streamed call sits after the text received before it", async () => {
        const backend = new FakeBackend();
        backend.scripts.push([
            ["message_created", { message_id: 10, role: "user" }],
            ["message_created", { message_id: 11, role: "assistant" }],
            ["text_delta", { message_id: 11, text: "Let me check." }],
            ["tool_call_started", { message_id: 11, call_id: "c1", name: "read_record", arguments: {} }],
            ["message_final", { message_id: 11, finish_reason: "tool_calls", stopped: false, error: null }],
            ["done", { thread_id: 1, state: "idle" }],
        ]);
        const model = await open(backend);
        await model.send("Hi");
        expect(model.messages.at(-1)!.toolCalls[0]!.textOffset).toBe("Let me check.".length);
    });
});
