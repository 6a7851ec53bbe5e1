// The conversation a "Run Assistant" action started, seen by its user in the record's AI
// panel (tests/test_automation.py runs the action, then this tour).
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("llm_thread_automation_approval", {
    steps: () => [
        { content: "Open the AI panel of the contact", trigger: ".o_llm_chatter_button", run: "click" },
        {
            content: "The action's question is there, filled from the contact",
            trigger: ".o_llm_chatter_panel .o_llm_message_user:contains(Check the phone of Tour Automation Contact)",
        },
        {
            content: "and the change its answer asks for waits for the user's approval",
            trigger: ".o_llm_chatter_panel .o_llm_tool_call[data-status=approval] .o_llm_approval_changes li:has(del:contains(+32 400 00 00 01)):has(ins:contains(+32 400 00 00 02))",
        },
        { content: "Approve it", trigger: ".o_llm_chatter_panel .o_llm_tool_approve", run: "click" },
        {
            content: "The assistant answers",
            trigger: ".o_llm_chatter_panel .o_llm_message_assistant:not(.o_llm_streaming):contains(Phone fixed)",
        },
    ],
});
