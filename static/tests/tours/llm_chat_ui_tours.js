// Tours of the chat UI against the fake provider (tests/test_chat_ui.py scripts its answers).
import { registry } from "@web/core/registry";

/** Types `text` in the composer and sends it with Enter, as a user does. */
export function sendSteps(text) {
    return [
        {
            content: "Type the question",
            trigger: ".o_llm_composer_input:enabled",
            run: `edit ${text}`,
        },
        {
            content: "Send it with Enter",
            trigger: ".o_llm_composer_input:enabled",
            run: "press Enter",
        },
    ];
}

/** A tour of LLM > Chat that starts a new conversation, asks `question`, then runs `steps`. */
function addChatTour(name, question, steps) {
    registry.category("web_tour.tours").add(name, {
        url: "/odoo/llm-chat",
        steps: () => [
            { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
            { content: "The empty thread suggests questions", trigger: ".o_llm_suggestion" },
            ...sendSteps(question),
            ...steps,
        ],
    });
}

addChatTour("llm_thread_chat_send", "Hello there", [
    {
        content: "The streamed answer is rendered as markdown",
        trigger: ".o_llm_message_assistant:not(.o_llm_streaming) .o_llm_markdown strong:contains(streamed)",
    },
    { content: "Its token usage is shown", trigger: ".o_llm_usage:contains(34 out)" },
    {
        content: "Reload the page",
        trigger: ".o_llm_message_assistant .o_llm_markdown",
        run: () => window.location.reload(),
    },
    {
        content: "After the reload the same answer is there",
        trigger: ".o_llm_message_assistant .o_llm_markdown strong:contains(streamed)",
    },
    { content: "with the question", trigger: ".o_llm_message_user:contains(Hello there)" },
]);

registry.category("web_tour.tours").add("llm_thread_chatter_ask", {
    steps: () => [
        { content: "Open the AI panel of the contact", trigger: ".o_llm_chatter_button", run: "click" },
        { content: "A new conversation about it is ready", trigger: ".o_llm_chatter_panel .o_llm_composer_input" },
        {
            content: "Suggestions are the record's prompts, filled in with its name",
            trigger: ".o_llm_suggestion[title*='Tour Contact']",
        },
        ...sendSteps("What about this contact?"),
        {
            content: "The answer appears in the chatter",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(Tour Contact is a fine contact)",
        },
    ],
});

addChatTour("llm_thread_tool_card", "Find the contact", [
    {
        content: "The tool call card shows its name and arguments",
        trigger: ".o_llm_tool_call[data-tool=search_records] .o_llm_tool_args:contains(res.partner)",
    },
    {
        content: "It is done",
        trigger: ".o_llm_tool_call[data-tool=search_records][data-status=done]",
    },
    {
        content: "Open its result",
        trigger: ".o_llm_tool_call .o_llm_tool_result summary",
        run: "click",
    },
    {
        content: "The result names the record found",
        trigger: ".o_llm_tool_call .o_llm_tool_result pre:contains(Tour Tool Partner)",
    },
    {
        content: "and links to it",
        trigger: ".o_llm_tool_call .o_llm_tool_records a:contains(Tour Tool Partner)",
    },
    {
        content: "The final answer follows",
        trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(I found it)",
    },
]);

addChatTour("llm_thread_stop", "Write a long story", [
    {
        content: "The answer starts streaming",
        trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(Once upon a time)",
    },
    { content: "Stop it", trigger: ".o_llm_stop", run: "click" },
    {
        content: "The partial answer is kept, marked stopped",
        trigger: ".o_llm_message_assistant:not(.o_llm_streaming):has(.o_llm_stopped) .o_llm_markdown:contains(Once upon a time)",
    },
    { content: "The composer is usable again", trigger: ".o_llm_composer_input:enabled" },
]);

addChatTour("llm_thread_delete_while_answering", "Write a long story", [
    {
        content: "The answer starts streaming",
        trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(Once upon a time)",
    },
    {
        // The server refuses it too (tests/test_access.py): the list does not offer it.
        content: "Delete is disabled while the answer is written, saying why",
        trigger: ".o_llm_thread_item.active .o_llm_thread_delete:disabled[title*='stop it to delete the conversation']",
    },
    { content: "Stop it", trigger: ".o_llm_stop", run: "click" },
    {
        content: "The partial answer is kept, marked stopped",
        trigger: ".o_llm_message_assistant:not(.o_llm_streaming):has(.o_llm_stopped)",
    },
    { content: "Delete it now", trigger: ".o_llm_thread_item.active .o_llm_thread_delete", run: "click" },
    { content: "Confirm", trigger: ".o_llm_thread_delete_confirm", run: "click" },
    { content: "It is gone from the list", trigger: ".o_llm_chat_app:not(:has(.o_llm_thread_item))" },
]);

addChatTour("llm_thread_wait_and_retry", "Are you there?", [
    {
        content: "The question shows at once that its answer is awaited",
        trigger: ".o_llm_message_user:contains(Are you there?) + .o_llm_pending",
    },
    {
        content: "The provider limits the rate: the back-off is shown",
        trigger: ".o_llm_message_user:contains(Are you there?) + .o_llm_pending:contains(retrying in)",
    },
    { content: "Stop during the back-off, before any word", trigger: ".o_llm_stop", run: "click" },
    {
        content: "The question stays, marked stopped, with a Retry",
        trigger: ".o_llm_message_user:contains(Are you there?) + .o_llm_unanswered:contains(Stopped before the answer started) .o_llm_retry",
        run: "click",
    },
    {
        content: "This time the answer comes, and the notes are gone",
        trigger: ".o_llm_message_assistant:not(.o_llm_streaming) .o_llm_markdown:contains(Here I am)",
    },
    {
        content: "Nothing else is waiting or stopped",
        trigger: ".o_llm_conversation:not(:has(.o_llm_pending, .o_llm_unanswered))",
    },
]);

/**
 * A tour that enables update_record in a new conversation, asks for a change, then Approves
 * (or Denies) it from the card's preview and reads the answer (tests/test_chat_ui.py).
 */
function addApprovalTour(name, decision, outcome, finalAnswer) {
    registry.category("web_tour.tours").add(name, {
        url: "/odoo/llm-chat",
        steps: () => [
            { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
            { content: "Open the tools menu", trigger: ".o_llm_tools_picker > button", run: "click" },
            {
                content: "Enable the tool that changes records",
                trigger: ".o_llm_tools_menu label:contains(Update record) input:not(:checked)",
                run: "click",
            },
            { content: "It is enabled", trigger: ".o_llm_tools_menu label:contains(Update record) input:checked" },
            ...sendSteps("Rename the tour partner"),
            {
                content: "The call waits, previewing the record and the old and new name",
                trigger: ".o_llm_tool_call[data-status=approval] .o_llm_approval_target:contains(Tour Approval Partner)",
            },
            {
                content: "with the change",
                trigger: ".o_llm_approval_changes li:has(del:contains(Tour Approval Partner)):has(ins:contains(Tour Renamed))",
            },
            { content: `${decision} it`, trigger: `.o_llm_tool_${decision.toLowerCase()}`, run: "click" },
            outcome,
            {
                content: "The model answers after the decision",
                trigger: `.o_llm_message_assistant:not(.o_llm_streaming):contains(${finalAnswer})`,
            },
        ],
    });
}

addApprovalTour(
    "llm_thread_tool_approve",
    "Approve",
    {
        content: "The approved call ran",
        trigger: ".o_llm_tool_call[data-tool=update_record][data-status=done] .o_llm_approval_decision:contains(Approved)",
    },
    "Renamed it",
);

addApprovalTour(
    "llm_thread_tool_deny",
    "Deny",
    {
        content: "The denied call did not run and says so, as a decision, not an error",
        trigger: ".o_llm_tool_call[data-tool=update_record][data-status=denied]:not(:has(.o_llm_tool_error)) .o_llm_tool_status:contains(Denied)",
    },
    "I left it as it was",
);

registry.category("web_tour.tours").add("llm_thread_chatter_change_reloads_form", {
    steps: () => [
        { content: "The form shows the old phone", trigger: ".o_field_widget[name=phone] input:value(+32 400 00 00 01)" },
        { content: "Open the AI panel of the contact", trigger: ".o_llm_chatter_button", run: "click" },
        ...sendSteps("Change my phone"),
        {
            content: "The text the model wrote before the call comes before its card",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant .o_llm_markdown:contains(I will update the phone) + .o_llm_tool_call[data-status=approval]",
        },
        {
            content: "The card compares the old and new phone",
            trigger: ".o_llm_approval_changes li:has(del:contains(+32 400 00 00 01)):has(ins:contains(+32 400 00 00 02))",
        },
        { content: "Approve it", trigger: ".o_llm_chatter_panel .o_llm_tool_approve", run: "click" },
        {
            content: "The model answers",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(Phone updated)",
        },
        {
            content: "The form shows the new phone without a reload of the page",
            trigger: ".o_field_widget[name=phone] input:value(+32 400 00 00 02)",
        },
        {
            content: "and its chatter the change",
            trigger: ".o-mail-Message-tracking:has(.o-mail-Message-trackingNew:contains(+32 400 00 00 02))",
        },
    ],
});

registry.category("web_tour.tours").add("llm_thread_answer_survives_navigation", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Open the conversation about the contact", trigger: ".o_llm_thread_open:contains(About the tour contact)", run: "click" },
        ...sendSteps("Tell me about this contact"),
        {
            content: "The answer starts streaming",
            trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(First half)",
        },
        { content: "Open the linked contact while it streams", trigger: ".o_llm_record_chip a", run: "click" },
        {
            content: "The contact's form is shown",
            trigger: ".o_form_view .o_breadcrumb .active:contains(Navigating Contact)",
        },
        {
            content: "Back to the chat (the provider goes on only now)",
            trigger: ".o_breadcrumb .breadcrumb-item a:first",
            run: "click",
        },
        {
            content: "The same conversation is open, and its answer ends live: complete, not stopped",
            trigger: ".o_llm_message_assistant:not(.o_llm_streaming):not(:has(.o_llm_stopped)) .o_llm_markdown:contains(second half)",
        },
    ],
});

/** Back on the conversation whose answer streams in this tab: the live answer, not a lock. */
function backOnTheStreamingAnswer(content) {
    return [
        {
            content: `${content}: open the streaming conversation again`,
            trigger: ".o_llm_thread_open:contains(Tell me a long story)",
            run: "click",
        },
        {
            // A model loaded anew would show the stored answer as done, and the composer
            // locked with "An answer is being written in another tab".
            content: `${content}: its answer still streams here, with this tab's Stop`,
            trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(First half)",
        },
        { content: `${content}: Stop is offered`, trigger: ".o_llm_stop" },
    ];
}

addChatTour("llm_thread_leave_and_come_back", "Tell me a long story", [
    {
        content: "The answer starts streaming",
        trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_markdown:contains(First half)",
    },
    {
        content: "Open another conversation meanwhile",
        trigger: ".o_llm_thread_open:contains(An older conversation)",
        run: "click",
    },
    { content: "It is shown, ready", trigger: ".o_llm_user_bubble:contains(Earlier question)" },
    ...backOnTheStreamingAnswer("Back from another conversation"),
    {
        content: "Open the Configuration menu",
        trigger: "[data-menu-xmlid='llm_thread.menu_llm_configuration']",
        run: "click",
    },
    {
        content: "Go to another screen: the conversations list",
        trigger: "[data-menu-xmlid='llm_thread.menu_llm_threads']",
        run: "click",
    },
    { content: "The list view is shown", trigger: ".o_list_view" },
    {
        content: "Back to the chat through its menu",
        trigger: "[data-menu-xmlid='llm_thread.menu_llm_chat']",
        run: "click",
    },
    ...backOnTheStreamingAnswer("Back from another menu"),
    { content: "Stop it", trigger: ".o_llm_stop", run: "click" },
    {
        content: "The partial answer is kept, marked stopped",
        trigger: ".o_llm_message_assistant:not(.o_llm_streaming):has(.o_llm_stopped) .o_llm_markdown:contains(First half)",
    },
    { content: "The composer is usable again", trigger: ".o_llm_composer_input:enabled" },
]);

registry.category("web_tour.tours").add("llm_thread_chatter_dirty_form_saved_first", {
    steps: () => [
        { content: "The form shows the stored phone", trigger: ".o_field_widget[name=phone] input:value(+32 400 00 00 01)" },
        { content: "Edit the phone, without saving", trigger: ".o_field_widget[name=phone] input", run: "edit +32 400 00 00 09" },
        { content: "Open the AI panel of the contact", trigger: ".o_llm_chatter_button", run: "click" },
        { content: "The form has unsaved changes", trigger: ".o_form_status_indicator_buttons:not(.invisible) .o_form_button_save" },
        ...sendSteps("Change my phone"),
        {
            // Computed from the stored record: the form's edit was saved before the answer.
            content: "The card compares the edited phone with the one the model asks for",
            trigger: ".o_llm_chatter_panel .o_llm_approval_changes li:has(del:contains(+32 400 00 00 09)):has(ins:contains(+32 400 00 00 02))",
        },
        { content: "Approve it", trigger: ".o_llm_chatter_panel .o_llm_tool_approve", run: "click" },
        {
            content: "The model answers",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(Phone updated)",
        },
        {
            content: "The reloaded form shows the approved phone, not the earlier edit",
            trigger: ".o_field_widget[name=phone] input:value(+32 400 00 00 02)",
        },
    ],
});

registry.category("web_tour.tours").add("llm_thread_chatter_panel_follows_pager", {
    url: "/odoo/action-base.action_partner_form",
    steps: () => [
        { content: "Search the two tour contacts", trigger: ".o_searchview_input", run: "edit Pager Tour" },
        { content: "by name", trigger: ".o_searchview_input", run: "press Enter" },
        { content: "Open the first one", trigger: ".o_kanban_record:contains(Pager Tour A)", run: "click" },
        { content: "Its form is shown", trigger: ".o_breadcrumb .active:contains(Pager Tour A)" },
        { content: "Open the AI panel", trigger: ".o_llm_chatter_button", run: "click" },
        { content: "It lists the first contact's conversation", trigger: ".o_llm_chatter_threads:has(option:contains(About Pager Tour A))" },
        { content: "Next record", trigger: ".o_pager_next", run: "click" },
        { content: "The second contact's form is shown", trigger: ".o_breadcrumb .active:contains(Pager Tour B)" },
        {
            content: "The panel, still open, no longer lists the first contact's conversation",
            trigger: ".o_llm_chatter_panel:not(:has(option:contains(About Pager Tour A))) .o_llm_composer_input:enabled",
        },
        ...sendSteps("What about the second contact?"),
        {
            content: "The answer appears in the panel",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(Pager Tour B is fine)",
        },
    ],
});
