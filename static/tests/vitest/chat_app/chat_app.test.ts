import { describe, expect, test } from "vitest";

import { ChatApp, type ChatAppProps } from "../../../src/ts/chat_app/chat_app";
import { mountComponent } from "../helpers";

const action = { tag: "llm_thread.chat" };

describe("ChatApp", () => {
    test("shows the conversation list and the empty state", async () => {
        const fixture = await mountComponent(ChatApp, { action });

        const list = fixture.querySelector(".o_llm_chat_app .o_llm_thread_list");
        expect(list?.querySelector("h2")?.textContent).toBe("Conversations");
        const newConversation = list?.querySelector("button");
        expect(newConversation?.textContent).toBe("New conversation");
        expect(newConversation?.disabled).toBe(true);
        expect(newConversation?.title).toBe("Conversations arrive with the chat engine");

        const empty = fixture.querySelector(".o_llm_chat_app .o_llm_chat_empty");
        expect(empty?.querySelector("h3")?.textContent).toBe("No conversation yet");
        expect(empty?.querySelector("p")?.textContent).toMatch(/^Chat with an AI assistant/);
    });

    test("takes the action service's props, applying its layout class", async () => {
        const fixture = await mountComponent(ChatApp, {
            action,
            className: "o_action",
            actionId: 7,
            updateActionState: () => {},
            globalState: {},
        } as ChatAppProps);

        expect(fixture.querySelector(".o_llm_chat_app")?.classList).toContain("o_action");
    });

    test("refuses to mount without its action", async () => {
        await expect(mountComponent(ChatApp, {} as ChatAppProps)).rejects.toThrow(
            "'action' is missing",
        );
    });

    test("names itself for the breadcrumb", () => {
        expect(ChatApp.displayName).toBe("LLM Chat");
    });
});
