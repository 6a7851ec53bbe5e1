import { useEnv } from "@odoo/owl";
import { rpc } from "@web/core/network/rpc";

import { uploadedFrom, type ChatBackend } from "./transport";
import { followGeneration, streamGeneration } from "../stream/client";
import { GENERATION_STATE_NOTIFICATION, THREAD_LIST_NOTIFICATION } from "../stream/protocol";

declare const odoo: { csrf_token: string };


/** A bus listener; its payload is typed by the notification it subscribes to. */
type BusCallback = (payload: never) => void;

export interface OdooServices {
    orm: {
        call<T>(model: string, method: string, args: unknown[], kwargs?: object): Promise<T>;
    };
    bus_service: {
        subscribe(type: string, callback: BusCallback): void;
        unsubscribe(type: string, callback: BusCallback): void;
    };
}

const backends = new WeakMap<object, ChatBackend>();

/**
 * The web client's one chat backend (a hook). Built on the services themselves, not on
 * `useService()`'s copies bound to the calling component: a conversation outlives the
 * component that started it (see conversation/live_conversations.ts), and a bound call made
 * after that component is gone would never resolve.
 */
export function useChatBackend(): ChatBackend {
    const services = useEnv().services as OdooServices;
    let backend = backends.get(services);
    if (!backend) {
        backend = makeBackend(services);
        backends.set(services, backend);
    }
    return backend;
}

/** The chat's backend over Odoo's services: ORM calls, JSON routes and the engine's stream. */
export function makeBackend(services: OdooServices): ChatBackend {
    return {
        call: (method, args, kwargs = {}) => services.orm.call("llm.thread", method, args, kwargs),
        callModel: (model, method, args, kwargs = {}) =>
            services.orm.call(model, method, args, kwargs),
        rpc: (route, params) => rpc(route, params),
        startGeneration: (request) => streamGeneration(request, { csrfToken: odoo.csrf_token }),
        followGeneration: (request) => followGeneration(request, {}),
        upload: async (threadId, file) => {
            const body = new FormData();
            body.set("csrf_token", odoo.csrf_token);
            body.set("ufile", file, file.name);
            const response = await fetch(`/llm/thread/${threadId}/attachment`, { method: "POST", body });
            // Not JSON (a proxy's error page): the status says enough.
            return uploadedFrom(await response.json().catch(() => null), response.statusText);
        },
        onGenerationState: (callback) => listen(services, GENERATION_STATE_NOTIFICATION, callback),
        onThreadList: (callback) => listen(services, THREAD_LIST_NOTIFICATION, callback),
    };
}

/** Subscribes `callback` to the bus notification `type`; returns the unsubscribe. */
function listen<T>(services: OdooServices, type: string, callback: (payload: T) => void): () => void {
    // A callback of our own: the bus unsubscribes by callback identity.
    const listener = (payload: T) => callback(payload);
    services.bus_service.subscribe(type, listener);
    return () => services.bus_service.unsubscribe(type, listener);
}
