// Tour of attachments (tests/test_attachments.py scripts the fake provider).
import { registry } from "@web/core/registry";

import { sendSteps } from "./llm_chat_ui_tours";

/** A red (or `color`) PNG, drawn by the browser, as a screenshot on the clipboard is. */
function redSquare(color = "red") {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 8;
    const context = canvas.getContext("2d");
    context.fillStyle = color;
    context.fillRect(0, 0, 8, 8);
    return new Promise((resolve) => canvas.toBlob((blob) => resolve(new File([blob], "image.png", { type: "image/png" }))));
}

/** Pastes a square of `color` into the text area `selector`, as a screenshot is pasted. */
async function pasteSquare(selector, color) {
    const data = new DataTransfer();
    data.items.add(await redSquare(color));
    const input = document.querySelector(selector);
    input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}

registry.category("web_tour.tours").add("llm_thread_paste_image", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        {
            content: "Paste a screenshot into the composer",
            trigger: ".o_llm_composer_input:enabled",
            run: () => pasteSquare(".o_llm_composer_input", "red"),
        },
        { content: "It shows as a thumbnail before sending", trigger: ".o_llm_composer .o_llm_attachment_chip img[alt='image.png']" },
        ...sendSteps("What is in this picture?"),
        {
            content: "The sent question shows the image, from the server",
            trigger: ".o_llm_message_user:contains(What is in this picture) .o_llm_message_image img[src^='/web/image/']",
        },
        { content: "The composer has no attachment left", trigger: ".o_llm_composer:not(:has(.o_llm_attachment_chip))" },
        { content: "The answer", trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(A red square)" },
        {
            content: "The thumbnail is the picture (the owner may read it)",
            trigger: ".o_llm_message_image img",
            async run() {
                const img = document.querySelector(".o_llm_message_image img");
                await img.decode();
                if (!img.naturalWidth) {
                    throw new Error("the thumbnail did not load");
                }
            },
        },
    ],
});

// tests/test_attachments.py: the model is sent the image alone, then the edit's text and
// its new image, without the one removed.
registry.category("web_tour.tours").add("llm_thread_image_alone_then_edited", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        { content: "Nothing to send yet", trigger: ".o_llm_composer .o_llm_send:disabled" },
        { content: "Paste a screenshot", trigger: ".o_llm_composer_input:enabled", run: () => pasteSquare(".o_llm_composer_input", "red") },
        { content: "Send it with no text", trigger: ".o_llm_composer .o_llm_send:enabled", run: "click" },
        { content: "The answer", trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(A red square)" },
        { content: "Open another conversation", trigger: ".o_llm_new_conversation", run: "click" },
        { content: "Back to it, read from the server (named after its file)", trigger: ".o_llm_thread_open:contains(image.png)", run: "click" },
        {
            content: "The question shows its image, without an empty bubble",
            trigger: ".o_llm_message_user:not(:has(.o_llm_user_bubble)) .o_llm_message_image img[src^='/web/image/']",
        },
        { content: "Edit the question", trigger: ".o_llm_message_user .o_llm_edit_button", run: "click" },
        { content: "Its image is in the edit box", trigger: ".o_llm_edit .o_llm_attachment_chip img[alt='image.png']" },
        { content: "Remove it", trigger: ".o_llm_edit .o_llm_attachment_remove", run: "click" },
        { content: "Neither text nor file: nothing to send", trigger: ".o_llm_edit:not(:has(.o_llm_attachment_chip)) .o_llm_edit_send:disabled" },
        { content: "Paste another screenshot into the edit", trigger: ".o_llm_edit_input", run: () => pasteSquare(".o_llm_edit_input", "blue") },
        { content: "It shows in the edit box", trigger: ".o_llm_edit .o_llm_attachment_chip img[src^='blob:']" },
        { content: "Write the question", trigger: ".o_llm_edit_input", run: "edit And this one?" },
        { content: "Send the edit", trigger: ".o_llm_edit_send:enabled", run: "click" },
        {
            content: "The edited question, its text and its new image, as version 2 of 2",
            trigger: ".o_llm_message_user:contains(And this one?):has(.o_llm_message_image img[src^='/web/image/']):has(.o_llm_version_label:contains(2/2))",
        },
        { content: "is answered", trigger: ".o_llm_message_assistant:not(.o_llm_streaming):contains(A blue square)" },
    ],
});
