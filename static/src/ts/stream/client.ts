// The stream client of POST /llm/thread/<id>/generate: fetch() with the message in the form
// body (never the URL) and the CSRF token, the body read as server-sent events with
// eventsource-parser. EventSource is not used: it can only GET.
import { createParser } from "eventsource-parser";

import { type EventName, type EventPayload, isEventName } from "./protocol";

export interface GenerationRequest {
    threadId: number;
    /** The user's message; null re-runs the generation on the stored history. */
    message: string | null;
    /** Uploaded attachments the message carries (their ids). */
    attachmentIds?: number[];
    /** Regenerate an answer, edit a question (with `message`), or continue a cut answer. */
    action?: GenerationAction;
    signal: AbortSignal;
    /** Called for every protocol event, in order. */
    onEvent(name: EventName, payload: EventPayload<EventName>): void;
}

export interface GenerationAction {
    kind: "regenerate" | "edit" | "continue";
    messageId: number;
}

export interface StreamOptions {
    /** Odoo's session CSRF token (`odoo.csrf_token` in the web client). */
    csrfToken: string;
    /** Tests pass a fake; the browser's fetch otherwise. */
    fetch?: typeof fetch;
}

/** The server refused to start: HTTP status with a JSON `{error: {code, message}}`
 *  (404 not yours, 409 already generating, 413 too long, 400 not configured or invalid input). */
export class GenerationRefused extends Error {
    constructor(
        readonly code: string,
        message: string,
        readonly status = 0,
    ) {
        super(message);
        this.name = "GenerationRefused";
    }
}

/** The connection ended before the "done" event: the server or the network went away. */
export class StreamInterrupted extends Error {
    constructor() {
        super("The connection to the server was lost before the answer finished.");
        this.name = "StreamInterrupted";
    }
}

async function refusal(response: Response): Promise<GenerationRefused> {
    let code = `http_${response.status}`;
    let message = response.statusText;
    try {
        const json = await response.json();
        code = json.error?.code ?? code;
        message = json.error?.message ?? message;
    } catch {
        // Not JSON (a proxy's error page): the status says enough.
    }
    return new GenerationRefused(code, message, response.status);
}

/**
 * Start a generation and deliver its events until "done". Resolves after "done"; rejects with
 * GenerationRefused, StreamInterrupted, or the fetch's own error (an AbortError when
 * `signal` aborts: the server notices the closed connection and keeps the partial answer).
 */
export async function streamGeneration(
    request: GenerationRequest,
    options: StreamOptions,
): Promise<void> {
    const body = new URLSearchParams({ csrf_token: options.csrfToken });
    if (request.message !== null) {
        body.set("message", request.message);
    }
    if (request.attachmentIds?.length) {
        body.set("attachment_ids", request.attachmentIds.join(","));
    }
    if (request.action) {
        body.set(`${request.action.kind}_message_id`, String(request.action.messageId));
    }
    const response = await (options.fetch ?? fetch)(`/llm/thread/${request.threadId}/generate`, {
        method: "POST",
        body,
        signal: request.signal,
        headers: { Accept: "text/event-stream" },
    });
    if (!response.ok || !response.body) {
        throw await refusal(response);
    }
    let done = false;
    const parser = createParser({
        onEvent: ({ event, data }) => {
            // Unknown events come from a newer server: skipping them keeps this client working.
            if (event && isEventName(event)) {
                done ||= event === "done";
                request.onEvent(event, JSON.parse(data));
            }
        },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) {
            break;
        }
        parser.feed(value);
    }
    if (!done) {
        throw new StreamInterrupted();
    }
}

