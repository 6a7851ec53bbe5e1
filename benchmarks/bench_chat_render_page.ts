// The page of benchmarks/bench_chat_render.mjs: the real Conversation component (OWL from
// node_modules, DOMPurify as Odoo loads it) fed by a scripted stream, or a markdown text
// rendered once. Exposes window.bench for the driver.
import { App, reactive } from "@odoo/owl";
import createDOMPurify from "dompurify";

import { Conversation } from "../static/src/ts/conversation/conversation";
import { ConversationModel } from "../static/src/ts/conversation/conversation_model";
import type { ChatBackend, GenerationRequest } from "../static/src/ts/core/transport";
import { MarkdownView } from "../static/src/ts/markdown/markdown_view";

declare const XML_FILES: string[];
// The t-name templates of the XML files Odoo loads, as static/tests/vitest/helpers.ts reads them.
const TEMPLATES: Record<string, string> = {};
for (const xml of XML_FILES) {
    const doc = new DOMParser().parseFromString(xml, "text/xml");
    for (const template of doc.querySelectorAll(":root > [t-name]")) {
        TEMPLATES[template.getAttribute("t-name")!] = template.outerHTML;
    }
}
(window as any).DOMPurify = createDOMPurify(window);

function env() {
    return { services: { action: { doAction: async () => {} } } };
}

async function stream(text: string, deltasPerSecond: number, deltaSize: number): Promise<number> {
    const pieces = text.match(new RegExp(`[\\s\\S]{1,${deltaSize}}`, "g"))!;
    const backend: ChatBackend = {
        call: async () => ({}) as any,
        callModel: async () => ({}) as any,
        rpc: async () => ({}) as any,
        startGeneration: (request: GenerationRequest) =>
            new Promise<void>((resolve) => {
                request.onEvent("message_created", { message_id: 2, role: "assistant" });
                const start = performance.now();
                let sent = 0;
                // Deltas as a server sends them: due at a steady rate, delivered by the network in
                // small batches (one timer tick).
                const tick = () => {
                    const due = Math.min(pieces.length, Math.floor(((performance.now() - start) / 1000) * deltasPerSecond) + 1);
                    for (; sent < due; sent++) {
                        request.onEvent("text_delta", { message_id: 2, text: pieces[sent]! });
                    }
                    if (sent < pieces.length) {
                        setTimeout(tick, 2);
                    } else {
                        request.onEvent("message_final", { message_id: 2, finish_reason: "stop", stopped: false, error: null });
                        request.onEvent("done", { thread_id: 1, state: "idle" });
                        resolve();
                    }
                };
                tick();
            }),
    };
    const model = reactive(new ConversationModel(backend));
    model.setThread({
        id: 1, name: "Bench", write_date: "2026-01-01 00:00:00", provider_id: 1, model_id: 1,
        tool_names: [], res_model: false, res_id: false, record_name: "", generation_state: "idle",
        generation_error: "", messages: [],
    });
    const target = document.getElementById("root")!;
    const app = new App(Conversation as any, {
        templates: TEMPLATES, env: env(),
        props: { conversation: model, notConfigured: false, canConfigure: false },
    });
    await app.mount(target);
    const started = performance.now();
    await model.send("Write a long answer");
    // Let the last frame paint.
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const elapsed = performance.now() - started;
    const rendered = target.querySelector(".o_llm_markdown")!.textContent!.length;
    app.destroy();
    return rendered && elapsed;
}

async function once(text: string): Promise<number> {
    const target = document.getElementById("root")!;
    const started = performance.now();
    const app = new App(MarkdownView as any, { templates: TEMPLATES, env: env(), props: { text } });
    await app.mount(target);
    const elapsed = performance.now() - started;
    app.destroy();
    return elapsed;
}

(window as any).bench = { stream, once };
