import { registry } from "@web/core/registry";

// An operator's Discuss while the AI agent hands a conversation over to them: the conversation
// arrives in the live chat section, with the AI summary only the operator sees; they answer.
registry.category("web_tour.tours").add("llm_livechat_operator_takes_handoff", {
    steps: () => [
        {
            content: "The handed-over conversation arrives (named after the other members)",
            trigger: ".o-mail-DiscussSidebarChannel:contains('Ava')",
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
