// The stream clients of a thread's generation, which runs on the server whoever watches it:
// POST /llm/thread/<id>/generate starts one and follows it (fetch() with the message in the
// form body, never the URL, and the CSRF token); GET /llm/thread/<id>/stream follows the one
// running (a reload, another tab), from the start or after the last event seen
// (Last-Event-ID). Bodies are read as server-sent events with eventsource-parser; EventSource
// is not used: it can only GET, and it reconnects on its own where the conversation decides.
import { createParser } from "eventsource-parser";

import { type EventName, type EventPayload, isEventName } from "./protocol";

interface StreamRequest {
    threadId: number;
    signal: AbortSignal;
    /** Called for every protocol event, in order; `id` is the event's id, if it has one. */
    onEvent(name: EventName, payload: EventPayload<EventName>, id?: string): void;
}

export interface GenerationRequest extends StreamRequest {
    /** The user's message; null re-runs the generation on the stored history. */
    message: string | null;
    /** Uploaded attachments the message carries (their ids). */
    attachmentIds?: number[];
    /** Regenerate an answer, edit a question (with `message`), or continue a cut answer. */
    action?: GenerationAction;
}

export interface FollowRequest extends StreamRequest {
    /** The id of the last event this viewer saw: only what came after it is sent. */
    lastEventId: string | null;
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
 * `signal` aborts: the viewer leaves, the answer goes on on the server).
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
    await readEvents(response, request);
}

/**
 * Follow the thread's running generation until "done" (at once when none runs): what it wrote
 * so far, then live. Same outcomes as `streamGeneration`.
 */
export async function followGeneration(
    request: FollowRequest,
    options: Pick<StreamOptions, "fetch">,
): Promise<void> {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (request.lastEventId) {
        headers["Last-Event-ID"] = request.lastEventId;
    }
    const response = await (options.fetch ?? fetch)(`/llm/thread/${request.threadId}/stream`, {
        method: "GET",
        signal: request.signal,
        headers,
    });
    await readEvents(response, request);
}

async function readEvents(response: Response, request: StreamRequest): Promise<void> {
    if (!response.ok || !response.body) {
        throw await refusal(response);
    }
    let done = false;
    const parser = createParser({
        onEvent: ({ event, data, id }) => {
            // Unknown events come from a newer server: skipping them keeps this client working.
            if (event && isEventName(event)) {
                done ||= event === "done";
                request.onEvent(event, JSON.parse(data), id);
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
