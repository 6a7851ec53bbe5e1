// Tours of the chat's layout (tests/test_chat_ui.py TestChatLayout): where a conversation
// opens, and the phone's one-column chat.
import { registry } from "@web/core/registry";

/** Fails unless the conversation shows its latest message (scrolled to the bottom). */
function assertAtLatest() {
    const scroller = document.querySelector(".o_llm_messages");
    const below = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
    if (scroller.scrollHeight <= scroller.clientHeight || below > 2) {
        throw new Error(`not at the latest message: ${below}px below, ${scroller.scrollHeight}px in all`);
    }
}

/** Fails if the conversation shows beside the list (a phone shows one at a time). */
function assertOneColumn() {
    if (document.querySelector(".o_llm_thread_list") && document.querySelector(".o_llm_chat_main")) {
        throw new Error("the list and the conversation show side by side");
    }
}

/** Fails unless `el` lies wholly within the window's width. */
function assertOnScreen(el, what) {
    const { left, right } = el.getBoundingClientRect();
    if (left < 0 || right > window.innerWidth) {
        throw new Error(`${what} is off screen: ${left}..${right} of ${window.innerWidth}px`);
    }
}

const LAST = ".o_llm_message_assistant:contains(The last answer)";

registry.category("web_tour.tours").add("llm_thread_opens_at_latest", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "The latest conversation opens at its latest message", trigger: LAST, run: assertAtLatest },
        {
            content: "Reload the page",
            trigger: LAST,
            run: () => window.location.reload(),
        },
        { content: "After a reload, at the latest message again", trigger: LAST, run: assertAtLatest },
        { content: "Open the linked record", trigger: ".o_llm_record_chip a", run: "click" },
        { content: "The record's form", trigger: ".o_form_view .o_breadcrumb .active:contains(Layout Contact)" },
        { content: "Back through the breadcrumb", trigger: ".o_breadcrumb .breadcrumb-item a:first", run: "click" },
        { content: "Back at the latest message", trigger: LAST, run: assertAtLatest },
        { content: "Open it from the list", trigger: ".o_llm_thread_open:contains(Long talk)", run: "click" },
        { content: "Still at the latest message", trigger: LAST, run: assertAtLatest },
    ],
});

registry.category("web_tour.tours").add("llm_thread_phone", {
    url: "/odoo/llm-chat",
    steps: () => [
        {
            content: "A phone shows the list first, alone, New within the screen",
            trigger: ".o_llm_chat_small .o_llm_thread_list",
            run() {
                assertOneColumn();
                assertOnScreen(document.querySelector(".o_llm_new_conversation"), "New");
            },
        },
        { content: "Open the conversation", trigger: ".o_llm_thread_open:contains(Figures)", run: "click" },
        {
            content: "It takes the whole width; its table scrolls instead of breaking its words",
            trigger: ".o_llm_chat_main .o_llm_table",
            run() {
                assertOneColumn();
                const main = document.querySelector(".o_llm_chat_main");
                if (main.getBoundingClientRect().width < window.innerWidth - 2) {
                    throw new Error(`the conversation is ${main.getBoundingClientRect().width}px wide`);
                }
                const table = document.querySelector(".o_llm_table");
                if (table.scrollWidth <= table.clientWidth) {
                    throw new Error("the table was squeezed into the screen");
                }
                for (const cell of table.querySelectorAll("td, th")) {
                    if (cell.scrollWidth > cell.clientWidth) {
                        throw new Error(`a word overflows its cell: ${cell.textContent}`);
                    }
                }
            },
        },
        { content: "Open the Tools menu", trigger: ".o_llm_tools_picker button", run: "click" },
        {
            content: "The Tools menu is wholly on screen",
            trigger: ".o_llm_tools_menu",
            run: () => assertOnScreen(document.querySelector(".o_llm_tools_menu"), "The Tools menu"),
        },
        { content: "Back to the list", trigger: ".o_llm_back", run: "click" },
        { content: "The list again", trigger: ".o_llm_thread_open:contains(Figures)", run: assertOneColumn },
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        {
            content: "A new conversation, ready to write",
            trigger: ".o_llm_thread_title:contains(New conversation)",
            run: () => assertOnScreen(document.querySelector(".o_llm_composer"), "The composer"),
        },
        { content: "with its back button", trigger: ".o_llm_back" },
    ],
});
