// The bundle's one entry point (built to static/src/dist/llm_thread.js, Odoo module
// "@llm_thread/dist/llm_thread"). Registrations live here rather than next to each component so
// that importing a component, as the unit tests do, has no side effect.
import { registry } from "@web/core/registry";

import { ChatApp } from "./chat_app/chat_app";

registry.category("actions").add("llm_thread.chat", ChatApp);

export { ChatApp };
