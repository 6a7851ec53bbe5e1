import { registry } from "@web/core/registry";

// An operator's Discuss while the AI agent hands a conversation over to them: the conversation
// arrives in the live chat section, with the AI summary only the operator sees; they answer.
registry.category("web_tour.tours").add("llm_livechat_operator_takes_handoff", {
    steps: () => [
        {
            content: "The handed-over conversation arrives, named after the visitor (the agent is a bot)",
            trigger: ".o-mail-DiscussSidebarChannel:contains('Visitor'):not(:contains('Ava'))",
            run: "click",
        },
        {
            content: "The AI summary is there, for the operator only",
            trigger: ".o-mail-Thread .o-mail-Message:contains('AI summary:'):contains('wants a refund')",
        },
        {
            content: "So is the visitor's question",
            trigger: ".o-mail-Thread .o-mail-Message:contains('talk to a person about a refund')",
        },
        {
            content: "Answer the visitor",
            trigger: ".o-mail-Composer-input",
            run: "edit Hello, Olivia here. Let me check your refund.",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "The answer is posted",
            trigger: ".o-mail-Thread .o-mail-Message:contains('Olivia here'):not(:has(.o-mail-Message-pendingProgress))",
        },
    ],
});

// An operator's Discuss while the AI agent answers a visitor in one of their channels: the
// conversation is listed with the "AI agent answering" marker; they take it over, and the marker
// goes (the server's update, over the bus); they give it back to the AI and leave it, and it is
// listed again, marked.
registry.category("web_tour.tours").add("llm_livechat_operator_takes_over", {
    steps: () => [
        {
            content: "The conversation the AI answers is listed, marked",
            trigger: ".o-mail-DiscussSidebarChannel:has(.o-llm-livechat-AiMarker[title='AI agent answering'])",
            run: "click",
        },
        {
            content: "Its header shows the marker too",
            trigger: ".o-mail-Discuss-header .o-llm-livechat-AiMarker",
        },
        {
            content: "Take over",
            trigger: ".o-mail-Discuss-header button[name='llm-take-over']",
            run: "click",
        },
        {
            content: "The marker is gone from the header...",
            trigger: ".o-mail-Discuss-header:not(:has(.o-llm-livechat-AiMarker)):has(button[name='llm-give-to-ai'])",
        },
        {
            content: "...and from the sidebar",
            trigger: ".o-mail-DiscussSidebarChannel.o-active:not(:has(.o-llm-livechat-AiMarker))",
        },
        {
            content: "Give it back to the AI",
            trigger: ".o-mail-Discuss-header button[name='llm-give-to-ai']",
            run: "click",
        },
        {
            content: "The operator left: the conversation is listed again, marked",
            trigger: ".o-mail-DiscussSidebarChannel:not(.o-active):has(.o-llm-livechat-AiMarker)",
        },
    ],
});

// On a phone, Discuss is a list by tabs: the conversation the AI answers is under Live Chat,
// marked, and opens with the marker in its header.
registry.category("web_tour.tours").add("llm_livechat_operator_phone", {
    steps: () => [
        {
            content: "Open the live chat tab",
            trigger: "button.o-mail-MessagingMenu-tab:contains(Livechat)",
            run: "click",
        },
        {
            content: "The conversation the AI answers is listed, marked",
            trigger: ".o-mail-NotificationItem:has(.o-llm-livechat-AiMarker[title='AI agent answering'])",
            run: "click",
        },
        {
            content: "It opens, marked in its header",
            trigger: ".o-mail-ChatWindow .o-llm-livechat-AiMarker",
        },
    ],
});

// An operator who sees, in Discuss, a conversation the AI answers gets its messages there, but
// no chat window nor bubble once they go to another app: it is not theirs until taken over.
registry.category("web_tour.tours").add("llm_livechat_operator_not_disturbed", {
    steps: () => [
        {
            content: "The conversation the AI answers is listed, marked",
            trigger: ".o-mail-DiscussSidebarChannel:has(.o-llm-livechat-AiMarker)",
            run: "click",
        },
        {
            content: "The agent's answer arrives in the operator's Discuss",
            trigger: ".o-mail-Thread .o-mail-Message:contains('We are open from 9 to 5.')",
        },
        {
            content: "Go to another app",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            trigger: ".o_app[data-menu-xmlid='im_livechat.menu_livechat_root']",
            run: "click",
        },
        {
            content: "No chat window nor bubble for that conversation",
            trigger: ".o_action_manager .o_kanban_view",
            run() {
                const windows = document.querySelectorAll(".o-mail-ChatWindow, .o-mail-ChatBubble");
                if (windows.length) {
                    throw new Error(`${windows.length} chat window(s) or bubble(s) opened`);
                }
            },
        },
    ],
});

// An admin edits the AI agent's contact (the partner visitors see) in Odoo's own contact form,
// which requires an email of a user's partner, and saves it.
registry.category("web_tour.tours").add("llm_livechat_admin_edits_agent_contact", {
    steps: () => [
        {
            content: "Give the agent's contact a job position",
            trigger: ".o_form_view .o_field_widget[name='function'] input",
            run: "edit Virtual assistant",
        },
        {
            content: "Save",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved, no field refused",
            trigger: ".o_form_view .o_form_saved:not(:has(.o_field_invalid))",
        },
    ],
});
