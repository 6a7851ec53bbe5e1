// Tour of usage, cost and budgets in LLM Chat against the fake provider
// (tests/test_usage.py, TestUsageTour, sets the budget and scripts the answer).
import { registry } from "@web/core/registry";

function send(text) {
    return [
        { content: "Type the question", trigger: ".o_llm_composer_input:enabled", run: `edit ${text}` },
        { content: "Send it with Enter", trigger: ".o_llm_composer_input:enabled", run: "press Enter" },
    ];
}

registry.category("web_tour.tours").add("llm_thread_usage_budget", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        ...send("What does this cost?"),
        {
            content: "The budget at 80% is announced",
            trigger: ".o_llm_budget_warning:contains(of the monthly budget \"Admin tokens\" is used)",
        },
        {
            content: "The answer still comes",
            trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(A priced answer)",
        },
        { content: "with its tokens", trigger: ".o_llm_usage:contains(600 out)" },
        { content: "the model that answered", trigger: ".o_llm_answer_model:contains(Scripted)" },
        { content: "and its cost", trigger: ".o_llm_cost:contains(0.0)" },
        { content: "The conversation's total", trigger: ".o_llm_thread_usage:contains(600 out)" },
        ...send("And one more?"),
        {
            content: "The next question is refused: the budget is spent (10,100 of 10,000 tokens)",
            trigger: ".o_llm_message_assistant .o_llm_message_error:contains(monthly budget \"Admin tokens\" is spent)",
        },
        { content: "The question is kept", trigger: ".o_llm_message_user:contains(And one more?)" },
        { content: "The composer is usable again", trigger: ".o_llm_composer_input:enabled" },
    ],
});

registry.category("web_tour.tours").add("llm_thread_usage_report", {
    steps: () => [
        { content: "The usage report opens as a pivot of users by day", trigger: ".o_pivot .o_pivot_header_cell_closed" },
        { content: "with the tokens", trigger: ".o_pivot .o_value:contains(1,234)" },
        { content: "and the cost in the company's currency", trigger: ".o_pivot .o_value:contains($0.5)" },
        { content: "Switch to the graph", trigger: ".o_switch_view.o_graph", run: "click" },
        { content: "The graph is drawn", trigger: ".o_graph_renderer canvas" },
        { content: "Switch to the list", trigger: ".o_switch_view.o_list", run: "click" },
        { content: "The list shows the line and its cost", trigger: ".o_list_table .o_data_row td[name=cost]:contains($):contains(0.5)" },
        { content: "and the total to the fraction of a cent, not rounded to cents", trigger: ".o_list_table tfoot:contains(0.500444)" },
    ],
});
