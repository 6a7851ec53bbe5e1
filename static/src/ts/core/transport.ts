// The seam between the conversation and the engine's stream client (static/src/ts/stream/):
// the conversation only needs "start a generation, or follow the running one, give me its
// events". Tests pass a
// scripted transport; backend.ts wires the real one. It lives here, below conversation/,
// so that backend.ts implements it without importing upward.
import type { FollowRequest, GenerationRequest } from "../stream/client";
import type { GenerationState, ThreadListChange } from "../stream/protocol";

export {
    GenerationRefused,
    StreamInterrupted,
    type FollowRequest,
    type GenerationRequest,
} from "../stream/client";

/** Resolves after "done"; rejects with GenerationRefused, StreamInterrupted or a network error. */
export type StartGeneration = (request: GenerationRequest) => Promise<void>;
/** Follows the thread's running generation; the same outcomes. */
export type FollowGeneration = (request: FollowRequest) => Promise<void>;

export interface ChatBackend {
    /** An `llm.thread` method call (orm.call). */
    call<T>(method: string, args: unknown[], kwargs?: Record<string, unknown>): Promise<T>;
    /** Any model's method, as the user (the record picker's name_search). */
    callModel<T>(
        model: string,
        method: string,
        args: unknown[],
        kwargs?: Record<string, unknown>,
    ): Promise<T>;
    /** A JSON route (/llm/thread/<id>/stop, /update). */
    rpc<T>(route: string, params: Record<string, unknown>): Promise<T>;
    startGeneration: StartGeneration;
    followGeneration: FollowGeneration;
    /**
     * Uploads a file for the thread's next message (POST /llm/thread/<id>/attachment);
     * rejects with UploadRefused when the server refuses it.
     */
    upload(threadId: number, file: File): Promise<AttachmentView>;
    /**
     * Calls `callback` whenever one of the user's threads starts or ends a generation, in any
     * tab or device (Odoo's bus); returns the function that unsubscribes.
     */
    onGenerationState(callback: (change: GenerationStateChange) => void): () => void;
    /**
     * Calls `callback` whenever one of the user's threads is created, renamed or deleted, in
     * any tab or device (Odoo's bus); returns the function that unsubscribes.
     */
    onThreadList(callback: (change: ThreadListNotice) => void): () => void;
}

/** A stored attachment, as the server describes it (the upload route, llm_ui_load). */
export interface AttachmentView {
    id: number;
    name: string;
    mimetype: string;
}

/** The server refused an upload (type, size, unreadable): its message says why. */
export class UploadRefused extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UploadRefused";
    }
}

/** The upload route's JSON answer: the attachment, or the refusal it states. */
export function uploadedFrom(json: unknown, statusText: string): AttachmentView {
    const value = (json ?? {}) as Partial<AttachmentView> & { error?: { message?: unknown } };
    if (typeof value.id === "number" && typeof value.name === "string" && typeof value.mimetype === "string") {
        return { id: value.id, name: value.name, mimetype: value.mimetype };
    }
    const message = value.error?.message;
    throw new UploadRefused(typeof message === "string" ? message : statusText);
}

export interface GenerationStateChange {
    thread_id: number;
    state: GenerationState;
}

export interface ThreadListNotice {
    thread_id: number;
    change: ThreadListChange;
}
