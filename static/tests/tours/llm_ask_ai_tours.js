// Tours of Ask AI in the command palette (Ctrl+K), against the fake provider
// (tests/test_ask_ai_ui.py scripts its answers).
import { registry } from "@web/core/registry";

/** Opens the palette as a user does, from whatever has the focus. */
const openPalette = {
    content: "Open the command palette with Ctrl+K",
    trigger: ".o_action_manager .o_control_panel",
    run: "press ctrl+k",
};

/** Picks the entry the palette selected first (Enter), after checking its name. */
function pickFirst(name) {
    return [
        { content: `The first entry is "${name}"`, trigger: `.o_command.focused .o_command_name:contains(${name})` },
        { content: "Pick it with Enter", trigger: ".o_command_palette_search input", run: "press Enter" },
    ];
}

registry.category("web_tour.tours").add("llm_thread_ask_ai_chat", {
    url: "/odoo/action-base.action_partner_form",
    steps: () => [
        // Loaded first: the action, once loaded, closes the dialogs open then (the palette).
        { content: "The contacts are listed", trigger: ".o_kanban_view .o_kanban_record" },
        { content: "The top bar's Ask AI button", trigger: ".o_menu_systray .o_llm_ask_ai_systray button", run: "click" },
        {
            content: "opens the palette on the AI's namespace, waiting for a question",
            trigger: ".o_command_palette:has(.o_namespace:contains(!)) .o_command_palette_listbox_empty:contains(Type your question)",
        },
        { content: "Close it", trigger: ".o_command_palette_search input", run: "press Escape" },
        { content: "It is closed", trigger: "body:not(:has(.o_command_palette))" },
        openPalette,
        {
            content: "The palette's tip names the namespace with the others",
            trigger: ".o_command_palette_footer .o_namespace:contains(AI answers)",
            run: "click",
        },
        { content: "It is the AI's", trigger: ".o_command_palette_search .o_namespace:contains(!)" },
        {
            content: "Type the question",
            trigger: ".o_command_palette_search input[placeholder='Ask AI anything…']",
            run: "edit What is overdue this week?",
        },
        ...pickFirst("Ask AI in LLM Chat: What is overdue this week?"),
        {
            content: "LLM Chat opens with the question sent",
            trigger: ".o_llm_chat_app .o_llm_message_user:contains(What is overdue this week?)",
        },
        {
            content: "and the fake provider's answer",
            trigger: ".o_llm_chat_app .o_llm_message_assistant:not(.o_llm_streaming):contains(Nothing is overdue.)",
        },
        {
            content: "in a new conversation, named after the question",
            trigger: ".o_llm_thread_item.active:contains(What is overdue this week?)",
        },
    ],
});

registry.category("web_tour.tours").add("llm_thread_ask_ai_record", {
    steps: () => [
        { content: "The contact's form, with the chatter's AI button", trigger: ".o_form_view .o_llm_chatter_button" },
        openPalette,
        {
            content: "Type the namespace and the question at once",
            trigger: ".o_command_palette_search input",
            run: "edit !Who is this contact?",
        },
        ...pickFirst("Ask AI about this record: Who is this contact?"),
        {
            content: "The record's AI panel opens with the question sent",
            trigger: ".o_llm_chatter_panel .o_llm_message_user:contains(Who is this contact?)",
        },
        {
            content: "and the fake provider's answer",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(A fine contact.)",
        },
        {
            content: "in a new conversation, beside the earlier one",
            trigger: ".o_llm_chatter_threads:has(option:checked:contains(Who is this contact?)):has(option:contains(Earlier talk))",
        },
    ],
});
