// The bundle's one entry point (built to static/src/dist/llm_thread.js, Odoo module
// "@llm_thread/dist/llm_thread"). Registrations live here rather than next to each component so
// that importing a component, as the unit tests do, has no side effect; the chatter patch is
// the one module with an effect of its own (it patches mail's Chatter when imported).
import { registry } from "@web/core/registry";
import { session } from "@web/session";

import { ASK_AI_NAMESPACE, askAiProvider, askAiSetup } from "./ask_ai/ask_ai";
import { AskAiButton } from "./ask_ai/ask_ai_button";
import { chatterOnScreen } from "./chatter/chatter_patch";
import { ChatApp } from "./chat_app/chat_app";
import { ChatterPanel } from "./chatter/chatter_panel";
import { Composer } from "./composer/composer";
import { Conversation } from "./conversation/conversation";
import { ConversationModel } from "./conversation/conversation_model";
import { renderMarkdown } from "./markdown/markdown";
import { MarkdownView } from "./markdown/markdown_view";
import { MessageItem } from "./message/message_item";
import { ThreadList } from "./thread_list/thread_list";
import { formatCost } from "./usage/usage";

registry.category("actions").add("llm_thread.chat", ChatApp);
// Ask AI in the command palette (Ctrl+K) and its top-bar button, for the users who may chat
// (models/ir_http.py). Left of the messaging menu (25).
if (session.llm_user) {
    registry.category("command_setup").add(ASK_AI_NAMESPACE, askAiSetup);
    registry.category("command_provider").add("llm_thread.ask_ai", askAiProvider(chatterOnScreen));
    registry.category("systray").add("llm_thread.ask_ai", { Component: AskAiButton }, { sequence: 30 });
}
// llm.usage costs in the usage report, in the companies' currency (models/ir_http.py); a
// plain amount when the user's companies have several.
registry
    .category("formatters")
    .add("llm_cost", (value) => (value === false ? "" : formatCost(value, session.llm_currency ?? "")));

export {
    ChatApp,
    ChatterPanel,
    Composer,
    Conversation,
    ConversationModel,
    MarkdownView,
    MessageItem,
    ThreadList,
    renderMarkdown,
};
