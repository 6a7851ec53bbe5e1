// Tour: an internal user opens LLM > Chat from the apps menu and sees the chat app.
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

registry.category("web_tour.tours").add("llm_thread_chat_app", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the LLM app",
            trigger: '.o_app[data-menu-xmlid="llm_thread.menu_llm_root"]',
            run: "click",
        },
        {
            content: "The chat app is shown, with its conversation list",
            trigger: ".o_llm_chat_app .o_llm_thread_list",
        },
        {
            content: "No conversation yet: a new one, ready to write",
            trigger: ".o_llm_chat_app .o_llm_thread_title:contains(New conversation)",
        },
        { content: "with its composer", trigger: ".o_llm_chat_app .o_llm_composer_input" },
    ],
});
