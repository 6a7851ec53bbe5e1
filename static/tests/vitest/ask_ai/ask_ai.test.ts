import { registry } from "@web/core/registry";
import { describe, expect, test } from "vitest";

import { ASK_AI_NAMESPACE, askAiCommands, askAiProvider, askInChat } from "../../../src/ts/ask_ai/ask_ai";
import { AskAiButton } from "../../../src/ts/ask_ai/ask_ai_button";
import type { RecordAsker } from "../../../src/ts/chatter/chatter_patch";
import "../../../src/ts/index";
import { mountComponent } from "../helpers";

/** A record's chatter on screen, recording what it was asked. */
function fakeChatter(): RecordAsker & { asked: string[] } {
    const asked: string[] = [];
    return { asked, askLlm: (question) => void asked.push(question) };
}

/** The action service, recording the actions done. */
function fakeActionService(tag?: string) {
    const done: [unknown, Record<string, unknown> | undefined][] = [];
    return {
        done,
        currentController: tag ? { action: { tag } } : null,
        doAction: async (action: unknown, options?: Record<string, unknown>) => void done.push([action, options]),
    };
}

describe("Ask AI in the command palette", () => {
    test("nothing is offered until a question is typed", () => {
        expect(askAiCommands("", fakeChatter(), () => {})).toEqual([]);
        expect(askAiCommands("   ", null, () => {})).toEqual([]);
    });

    test("with no record on screen, the question goes to LLM Chat", () => {
        const opened: string[] = [];
        const commands = askAiCommands(" What is overdue? ", null, (question) => opened.push(question));
        expect(commands.map((c) => c.name)).toEqual(["Ask AI in LLM Chat: What is overdue?"]);
        commands[0]!.action();
        expect(opened).toEqual(["What is overdue?"]);
    });

    test("with a record's chatter on screen, asking about the record comes first, LLM Chat second", () => {
        const chatter = fakeChatter();
        const opened: string[] = [];
        const commands = askAiCommands("Summarize it", chatter, (question) => opened.push(question));
        expect(commands.map((c) => c.name)).toEqual([
            "Ask AI about this record: Summarize it",
            "Ask AI in LLM Chat: Summarize it",
        ]);
        commands[0]!.action();
        expect(chatter.asked).toEqual(["Summarize it"]);
        expect(opened).toEqual([]);
        commands[1]!.action();
        expect(opened).toEqual(["Summarize it"]);
    });

    test("LLM Chat opens with the question, in place of the chat when the user is in it", async () => {
        const elsewhere = fakeActionService("some.other.action");
        await askInChat(elsewhere, "Hello?");
        expect(elsewhere.done).toEqual([["llm_thread.action_llm_chat", { props: { question: "Hello?" } }]]);
        const inChat = fakeActionService("llm_thread.chat");
        await askInChat(inChat, "Hello?");
        expect(inChat.done).toEqual([
            ["llm_thread.action_llm_chat", { props: { question: "Hello?" }, stackPosition: "replaceCurrentAction" }],
        ]);
    });

    test("the provider reads the record on screen when the palette asks for its entries", () => {
        let onScreen: RecordAsker | null = null;
        const provider = askAiProvider(() => onScreen);
        const env = { services: { action: fakeActionService() } };
        expect(provider.namespace).toBe(ASK_AI_NAMESPACE);
        expect(provider.provide(env, { searchValue: "Why?" })).toHaveLength(1);
        onScreen = fakeChatter();
        expect(provider.provide(env, { searchValue: "Why?" })).toHaveLength(2);
        provider.provide(env, { searchValue: "Why?" })[1]!.action();
        expect(env.services.action.done[0]![1]).toEqual({ props: { question: "Why?" } });
    });

    test("the entry point registers the namespace, named in the palette's footer, and the button", () => {
        expect(registry.category("command_setup").get(ASK_AI_NAMESPACE).name).toBe("AI answers");
        expect(registry.category("command_provider").get("llm_thread.ask_ai").namespace).toBe(ASK_AI_NAMESPACE);
        expect(registry.category("systray").get("llm_thread.ask_ai").Component).toBe(AskAiButton);
    });

    test("the top bar's button opens the palette on the namespace", async () => {
        const opened: unknown[] = [];
        const command = { openMainPalette: (config: unknown) => void opened.push(config) };
        const fixture = await mountComponent(AskAiButton, {}, { services: { command } });
        fixture.querySelector<HTMLButtonElement>(".o_llm_ask_ai_systray button")!.click();
        expect(opened).toEqual([{ searchValue: "!" }]);
    });
});
