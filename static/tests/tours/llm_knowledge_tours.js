// Tour: an answer citing the knowledge sources shows numbered chips that open the source, as
// soon as it cites them while it streams (tests/test_knowledge_ui.py prepares the conversation
// and scripts an answer that stalls after its first sentence).
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("llm_thread_knowledge_citations", {
    url: "/odoo/llm-chat",
    steps: () => [
        {
            content: "Open the conversation that has knowledge sources",
            trigger: ".o_llm_thread_open:contains(Policies chat)",
            run: "click",
        },
        {
            content: "Ask about refunds",
            trigger: ".o_llm_composer_input:enabled",
            run: "edit How long until refunds are paid back?",
        },
        { content: "Send it", trigger: ".o_llm_composer_input:enabled", run: "press Enter" },
        {
            content: "While the answer still streams, its citation shows as a numbered chip quoting the passage (no reload)",
            trigger: ".o_llm_message_assistant.o_llm_streaming .o_llm_citation[href^='/web/content/'][title*='Refunds are paid back']:has(.o_llm_citation_number:contains(1)):contains(policy.md)",
        },
        {
            content: "The chip opens the source",
            trigger: ".o_llm_message_assistant .o_llm_citation",
            run: "click",
        },
        { content: "Stop the answer", trigger: ".o_llm_stop", run: "click" },
        {
            content: "The stopped answer keeps its chip",
            trigger: ".o_llm_message_assistant:not(.o_llm_streaming) .o_llm_citation:contains(policy.md)",
        },
    ],
});
