// @vitest-environment node
import { describe, expect, test } from "vitest";

import {
    GenerationRefused,
    StreamInterrupted,
    streamGeneration,
} from "../../../src/ts/stream/client";

const encoder = new TextEncoder();

/** A fetch that answers with `chunks` as the streamed body and records its calls. */
function fakeFetch(chunks: (string | Uint8Array)[], init: ResponseInit = {}) {
    const calls: { url: string; init: RequestInit }[] = [];
    const impl = async (url: string | URL | Request, requestInit?: RequestInit) => {
        calls.push({ url: String(url), init: requestInit ?? {} });
        const body = new ReadableStream<Uint8Array>({
            start(controller) {
                for (const chunk of chunks) {
                    controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
                }
                controller.close();
            },
        });
        const headers = { "Content-Type": "text/event-stream" };
        return new Response(body, { status: 200, headers, ...init });
    };
    return { calls, fetch: impl as typeof fetch };
}

function frame(name: string, payload: object): string {
    return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

async function run(
    chunks: (string | Uint8Array)[],
    message: string | null = "Hi",
    init: ResponseInit = {},
) {
    const fake = fakeFetch(chunks, init);
    const events: [string, unknown][] = [];
    const promise = streamGeneration(
        {
            threadId: 7,
            message,
            signal: new AbortController().signal,
            onEvent: (name, payload) => events.push([name, payload]),
        },
        { csrfToken: "token", fetch: fake.fetch },
    );
    return { promise, events, calls: fake.calls };
}

describe("streamGeneration", () => {
    test("POSTs the message and CSRF token in the body, never in the URL", async () => {
        const done = frame("done", { thread_id: 7, state: "idle" });
        const { promise, calls } = await run([done], "secret question");
        await promise;
        expect(calls[0].url).toBe("/llm/thread/7/generate");
        expect(calls[0].init.method).toBe("POST");
        const body = calls[0].init.body as URLSearchParams;
        expect(body.get("message")).toBe("secret question");
        expect(body.get("csrf_token")).toBe("token");
    });

    test("the attachments' ids go with the message", async () => {
        const fake = fakeFetch([frame("done", { thread_id: 7, state: "idle" })]);
        await streamGeneration(
            { threadId: 7, message: "What is this?", attachmentIds: [4, 5], signal: new AbortController().signal, onEvent: () => {} },
            { csrfToken: "token", fetch: fake.fetch },
        );
        expect((fake.calls[0].init.body as URLSearchParams).get("attachment_ids")).toBe("4,5");
    });

    test("a regeneration sends no message field", async () => {
        const done = frame("done", { thread_id: 7, state: "idle" });
        const { promise, calls } = await run([done], null);
        await promise;
        expect((calls[0].init.body as URLSearchParams).has("message")).toBe(false);
    });

    test("delivers events in order across arbitrary chunk boundaries and split UTF-8", async () => {
        const stream =
            frame("message_created", { message_id: 1, role: "assistant" }) +
            frame("text_delta", { message_id: 1, text: "héllo 👋\nworld" }) +
            frame("heartbeat", {}) +
            frame("done", { thread_id: 7, state: "idle" });
        const bytes = encoder.encode(stream);
        // One byte at a time: every line, field and multi-byte character is split somewhere.
        const { promise, events } = await run(Array.from(bytes, (byte) => Uint8Array.of(byte)));
        await promise;
        expect(events).toEqual([
            ["message_created", { message_id: 1, role: "assistant" }],
            ["text_delta", { message_id: 1, text: "héllo 👋\nworld" }],
            ["heartbeat", {}],
            ["done", { thread_id: 7, state: "idle" }],
        ]);
    });

    test("skips events this client does not know", async () => {
        const { promise, events } = await run([
            frame("from_the_future", { x: 1 }),
            frame("done", { thread_id: 7, state: "idle" }),
        ]);
        await promise;
        expect(events.map(([name]) => name)).toEqual(["done"]);
    });

    test("a refusal before streaming rejects with its code, message and status", async () => {
        const body = JSON.stringify({ error: { code: "already_generating", message: "Busy." } });
        const headers = { "Content-Type": "application/json" };
        const { promise } = await run([body], "Hi", { status: 409, headers });
        const error = await promise.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(GenerationRefused);
        expect(error).toMatchObject({ code: "already_generating", message: "Busy.", status: 409 });
    });

    test("a refusal that is not JSON keeps the HTTP status", async () => {
        const init = { status: 502, statusText: "Bad Gateway" };
        const { promise } = await run(["<html>Bad Gateway</html>"], "Hi", init);
        await expect(promise).rejects.toMatchObject({ code: "http_502", status: 502 });
    });

    test("a stream that ends before done rejects as interrupted", async () => {
        const partial = frame("text_delta", { message_id: 1, text: "par" });
        const { promise, events } = await run([partial]);
        await expect(promise).rejects.toBeInstanceOf(StreamInterrupted);
        expect(events).toHaveLength(1);
    });
});
