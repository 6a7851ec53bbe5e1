// Tours of answers written on the server whoever watches them (engine/run.py): a reload
// mid-answer, another device's answer followed live, Stop from another device
// (tests/test_runs_ui.py drives the fake provider and plays the other device).
import { registry } from "@web/core/registry";

import { sendSteps } from "./llm_chat_ui_tours";

/** Checks the finished answer reads exactly `text`: nothing lost, nothing written twice. */
function exactAnswer(text) {
    return {
        content: `The answer reads exactly "${text}"`,
        trigger: `.o_llm_message_assistant:not(.o_llm_streaming) .o_llm_markdown:contains(${text})`,
        run() {
            const shown = [...document.querySelectorAll(".o_llm_message_assistant .o_llm_markdown")].at(-1);
            if (shown.textContent.trim() !== text) {
                throw new Error(`The answer reads "${shown.textContent.trim()}"`);
            }
        },
    };
}

registry.category("web_tour.tours").add("llm_thread_reload_mid_answer", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        ...sendSteps("Tell me a long story"),
        {
            content: "The answer starts streaming",
            trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(First half)",
        },
        {
            content: "Reload the page in the middle of the answer",
            trigger: ".o_llm_message_assistant .o_llm_markdown:contains(First half)",
            run: () => window.location.reload(),
        },
        {
            content: "After the reload the answer is still being written, where it was",
            trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(First half)",
        },
        exactAnswer("First half, second half."),
        { content: "Nothing says it was interrupted", trigger: ".o_llm_conversation:not(:has(.o_llm_interrupted))" },
        { content: "The composer is usable again", trigger: ".o_llm_composer_input:enabled" },
    ],
});

registry.category("web_tour.tours").add("llm_thread_other_device", {
    url: "/odoo/llm-chat",
    steps: () => [
        {
            content: "Open the conversation another device is answering in",
            trigger: ".o_llm_thread_open:contains(Shared conversation)",
            run: "click",
        },
        {
            content: "Its answer is followed live here",
            trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(Written on my phone)",
        },
        exactAnswer("Written on my phone, finished live."),
        ...sendSteps("Another question"),
        {
            content: "This answer starts streaming; the other device stops it",
            trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(Stoppable start)",
        },
        {
            content: "Stopped from the other device, the partial answer is kept here",
            trigger: ".o_llm_message_assistant:not(.o_llm_streaming):has(.o_llm_stopped) .o_llm_markdown:contains(Stoppable start)",
        },
        { content: "The composer is usable again", trigger: ".o_llm_composer_input:enabled" },
    ],
});
