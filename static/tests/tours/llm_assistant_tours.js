// Tours of assistants and prompts against the fake provider (tests/test_assistant_ui.py).
import { registry } from "@web/core/registry";
import { sendSteps } from "./llm_chat_ui_tours";

/** Picks the assistant named `name` in the header's picker, as a user does. */
function pickAssistant(name) {
    return {
        content: `Pick the assistant "${name}"`,
        trigger: `.o_llm_assistant_picker:has(option:contains(${name}))`,
        run() {
            const option = [...this.anchor.options].find((o) => o.textContent.trim() === name);
            this.anchor.value = option.value;
            this.anchor.dispatchEvent(new Event("change"));
        },
    };
}

registry.category("web_tour.tours").add("llm_thread_assistant_chat", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        {
            content: "It starts with the default assistant, whose starters are suggested",
            trigger: ".o_llm_suggestion:contains(What can you do for me?)",
        },
        pickAssistant("Record summariser"),
        { content: "Its three read tools are enabled", trigger: ".o_llm_tools_picker .badge:contains(3)" },
        {
            content: "Its starter prompts are suggested",
            trigger: ".o_llm_suggestion:contains(What is missing or overdue here?)",
            run: "click",
        },
        {
            content: "The summariser answers",
            trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(Nothing is overdue)",
        },
    ],
});

registry.category("web_tour.tours").add("llm_thread_assistant_chatter", {
    steps: () => [
        { content: "Open the AI panel of the contact", trigger: ".o_llm_chatter_button", run: "click" },
        { content: "A new conversation about it is ready", trigger: ".o_llm_chatter_panel .o_llm_composer_input" },
        pickAssistant("Record summariser"),
        {
            content: "The record's prompts are suggested: summarise it",
            trigger: ".o_llm_chatter_panel .o_llm_suggestion:contains(Summarise this record)",
            run: "click",
        },
        {
            content: "The answer appears in the chatter",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(A fine customer)",
        },
    ],
});

registry.category("web_tour.tours").add("llm_thread_assistant_test", {
    steps: () => [
        {
            content: "Instructions naming the record: the form says a test has none",
            trigger: ".o_llm_test_no_record:contains(are about no record)",
        },
        {
            content: "Edit the instructions, without saving",
            trigger: ".o_field_widget[name=instructions] textarea",
            run: "edit Answer as a pirate.",
        },
        { content: "Test the assistant", trigger: "button[name=action_llm_test]", run: "click" },
        {
            content: "The chat opens on its test conversation, with the assistant picked",
            trigger: ".o_llm_thread_title:contains(Test: Pirate)",
        },
        {
            content: "The assistant, offered on contacts only, is picked here",
            trigger: ".o_llm_assistant_picker:has(option:checked:contains(Pirate))",
        },
        ...sendSteps("Who are you?"),
        {
            content: "The assistant answers",
            trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(Arr, I be the pirate.)",
        },
    ],
});
