// Tour of a first provider's form (tests/test_provider_models.py, TestProviderFormTour): the
// buttons a new administrator looks for are there before the form is saved.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("llm_thread_new_provider_test_connection", {
    url: "/odoo/action-llm_thread.action_llm_provider/new",
    steps: () => [
        { content: "Name the provider", trigger: ".o_field_widget[name=name] input", run: "edit Tour Provider" },
        {
            content: "Give it the address of a server that is not running",
            trigger: ".o_field_widget[name=base_url] input",
            run: "edit http://127.0.0.1:9/v1",
        },
        { content: "Fetch models is offered before saving", trigger: "button[name=action_fetch_models]" },
        {
            content: "Test connection is offered before saving: it saves, then tests",
            trigger: "button[name=action_test_connection]",
            run: "click",
        },
        {
            content: "The test says what is wrong, and what to do",
            trigger: ".o_notification:contains(refused the connection)",
        },
        { content: "The provider was saved", trigger: ".o_breadcrumb:contains(Tour Provider)" },
    ],
});
