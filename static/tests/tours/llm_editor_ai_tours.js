// Odoo's own AI of the HTML editor answering through the configured provider
// (tests/test_html_editor_ai.py scripts the fake provider).
import { registry } from "@web/core/registry";

const NOTE = ".o_field_html[name=comment] .odoo-editor-editable";

registry.category("web_tour.tours").add("llm_thread_editor_ai", {
    steps: () => [
        { content: "Open the contact's internal notes", trigger: ".o_notebook .nav-link:contains(Internal Notes)", run: "click" },
        {
            content: "Type / in the note",
            trigger: NOTE,
            async run(actions) {
                // The powerbox opens on the input event of a typed "/" (as mail's tours do).
                await actions.editor("/");
                this.anchor.dispatchEvent(new InputEvent("input", { inputType: "insertText", data: "/" }));
            },
        },
        { content: "Choose the editor's AI", trigger: ".o-we-powerbox .o-we-command:contains(ChatGPT)", run: "click" },
        { content: "Odoo's AI dialog opens", trigger: ".modal .modal-header:contains(Generate Text with AI)" },
        { content: "Ask", trigger: ".modal textarea[name=promptInput]", run: "edit Write a thank-you note" },
        { content: "Send it with Enter", trigger: ".modal textarea[name=promptInput]", run: "press Enter" },
        {
            content: "The configured provider answers",
            trigger: ".modal .o-chatgpt-message:contains(Many thanks for your kind order)",
        },
        { content: "Insert the answer", trigger: ".modal .o-message-insert", run: "click" },
        { content: "It is in the note", trigger: `${NOTE}:contains(Many thanks for your kind order)` },
        { content: "Save the contact", trigger: ".o_form_button_save", run: "click" },
        { content: "The contact is saved", trigger: ".o_form_saved" },
    ],
});
