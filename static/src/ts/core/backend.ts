import { rpc } from "@web/core/network/rpc";

import type { ChatBackend } from "../conversation/transport";
import { streamGeneration } from "../stream/client";

declare const odoo: { csrf_token: string };

export interface OdooServices {
    orm: {
        call<T>(model: string, method: string, args: unknown[], kwargs?: object): Promise<T>;
    };
}

/** The chat's backend over Odoo's services: ORM calls, JSON routes and the engine's stream. */
export function makeBackend(services: OdooServices): ChatBackend {
    return {
        call: (method, args, kwargs = {}) => services.orm.call("llm.thread", method, args, kwargs),
        callModel: (model, method, args, kwargs = {}) =>
            services.orm.call(model, method, args, kwargs),
        rpc: (route, params) => rpc(route, params),
        startGeneration: (request) => streamGeneration(request, { csrfToken: odoo.csrf_token }),
    };
}
