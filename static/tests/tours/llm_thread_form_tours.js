// The conversation's backend form (tests/test_chat_ui.py, TestChatLayout).
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("llm_thread_form_deleted_record", {
    steps: () => [
        // A client error (the reference widget on a deleted record) fails the tour.
        { content: "The form opens", trigger: ".o_breadcrumb:contains(About a gone contact)" },
        { content: "Its owner may go on in LLM Chat", trigger: "button[name=action_open_in_chat]" },
        { content: "The transcript is shown", trigger: ".o_notebook .nav-link:contains(Transcript)" },
    ],
});
