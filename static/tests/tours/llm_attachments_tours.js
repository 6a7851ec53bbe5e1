// Tour of attachments (tests/test_attachments.py scripts the fake provider).
import { registry } from "@web/core/registry";

import { sendSteps } from "./llm_chat_ui_tours";

/** A red PNG, drawn by the browser, as a screenshot on the clipboard is. */
function redSquare() {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 8;
    const context = canvas.getContext("2d");
    context.fillStyle = "red";
    context.fillRect(0, 0, 8, 8);
    return new Promise((resolve) => canvas.toBlob((blob) => resolve(new File([blob], "image.png", { type: "image/png" }))));
}

registry.category("web_tour.tours").add("llm_thread_paste_image", {
    url: "/odoo/llm-chat",
    steps: () => [
        { content: "Start a new conversation", trigger: ".o_llm_new_conversation", run: "click" },
        {
            content: "Paste a screenshot into the composer",
            trigger: ".o_llm_composer_input:enabled",
            async run() {
                const data = new DataTransfer();
                data.items.add(await redSquare());
                const input = document.querySelector(".o_llm_composer_input");
                input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
            },
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
