// Hoot tests run inside the real web client (odoo-bin, /web/tests), with mail's real components.
import { describe, expect, test } from "@odoo/hoot";
import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { getService, mountWithCleanup, onRpc } from "@web/../tests/web_test_helpers";
import { registry } from "@web/core/registry";
import { WebClient } from "@web/webclient/webclient";
import { ChatApp } from "@llm_thread/dist/llm_thread";

describe.current.tags("desktop");
defineMailModels();

test("the bundle registers the LLM Chat client action", () => {
    expect(registry.category("actions").get("llm_thread.chat")).toBe(ChatApp);
});

test("LLM Chat opens in the web client", async () => {
    onRpc("llm.thread", "llm_ui_options", () => ({ models: [], tools: [], default_tool_names: [], assistants: [], can_configure: false }));
    onRpc("llm.thread", "llm_ui_list", () => []);
    onRpc("llm.thread", "llm_ui_prompts", () => []);
    await mountWithCleanup(WebClient);
    await getService("action").doAction("llm_thread.chat");
    expect(".o_llm_chat_app .o_llm_thread_list").toHaveCount(1);
    // A new conversation, not created until its first message.
    expect(".o_llm_chat_app .o_llm_thread_title").toHaveText("New conversation");
    // No chat model at all: the user is told who can fix it.
    expect(".o_llm_chat_app .o_llm_not_configured").toHaveText(/Ask an administrator/);
});
