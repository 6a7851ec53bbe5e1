// Tours of the answer actions (tests/test_answer_actions.py scripts the fake provider).
import { registry } from "@web/core/registry";

import { sendSteps } from "./llm_chat_ui_tours";

registry.category("web_tour.tours").add("llm_thread_answer_to_chatter", {
    steps: () => [
        { content: "Open the AI panel of the contact", trigger: ".o_llm_chatter_button", run: "click" },
        { content: "A new conversation about it is ready", trigger: ".o_llm_chatter_panel .o_llm_composer_input" },
        ...sendSteps("Draft a follow-up"),
        {
            content: "The answer is written",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(Call the customer on Monday)",
        },
        { content: "Log it as a note", trigger: ".o_llm_chatter_panel .o_llm_log_note", run: "click" },
        {
            content: "Mail's composer opens with the answer, to edit before posting",
            trigger: ".modal .o_mail_composer_form_view .note-editable strong:contains(Monday)",
        },
        { content: "Log the note", trigger: ".modal .o_mail_send:contains(Log)", run: "click" },
        {
            content: "The note appears in the record's chatter",
            trigger: ".o-mail-Chatter .o-mail-Message-body strong:contains(Monday)",
        },
        {
            content: "Its quote shows, not folded under Read More as a reply's",
            trigger: ".o-mail-Chatter .o-mail-Message-body:not(:has(.o-mail-read-more-less)) div:contains(Renewal terms stay as signed)",
        },
        { content: "Send it as a message", trigger: ".o_llm_chatter_panel .o_llm_send_message", run: "click" },
        {
            content: "Mail's composer opens to send it, with the answer",
            trigger: ".modal:has(.o_mail_send:contains(Send)) .note-editable:contains(Call the customer)",
        },
        { content: "Discard it", trigger: ".modal .o_form_button_cancel, .modal button:contains(Discard)", run: "click" },
        { content: "The composer is closed", trigger: "body:not(:has(.modal .o_mail_composer_form_view))" },
    ],
});

registry.category("web_tour.tours").add("llm_thread_regenerate_and_edit", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        ...sendSteps("Name a colour"),
        { content: "The first answer", trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(Blue)" },
        { content: "Regenerate it", trigger: ".o_llm_message_assistant .o_llm_regenerate", run: "click" },
        {
            content: "The new answer replaces it, as version 2 of 2",
            trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(Green):has(.o_llm_version_label:contains(2/2))",
        },
        { content: "The old one is not shown", trigger: ".o_llm_messages:not(:contains(Blue))" },
        { content: "Go back to the first version", trigger: ".o_llm_message_assistant .o_llm_version_prev", run: "click" },
        {
            content: "The first answer is shown again, as version 1 of 2",
            trigger: ".o_llm_message_assistant:contains(Blue):has(.o_llm_version_label:contains(1/2))",
        },
        { content: "Forward to the second", trigger: ".o_llm_message_assistant .o_llm_version_next", run: "click" },
        { content: "The second answer is back", trigger: ".o_llm_message_assistant:contains(Green):has(.o_llm_version_label:contains(2/2))" },
        { content: "Edit the question", trigger: ".o_llm_message_user .o_llm_edit_button", run: "click" },
        { content: "Change it", trigger: ".o_llm_edit_input", run: "edit Name a fruit" },
        { content: "Send it", trigger: ".o_llm_edit_send:enabled", run: "click" },
        {
            content: "The edited question, as version 2 of 2",
            trigger: ".o_llm_message_user:contains(Name a fruit):has(.o_llm_version_label:contains(2/2))",
        },
        { content: "is answered", trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(Apple)" },
        { content: "The replaced exchange is not shown", trigger: ".o_llm_messages:not(:contains(Green)):not(:contains(Name a colour))" },
    ],
});
