import { describe, expect, test } from "vitest";

import { Chatter } from "@mail/chatter/web_portal/chatter";

import { ChatterPanel } from "../../../src/ts/chatter/chatter_panel";
import "../../../src/ts/chatter/chatter_patch";
import { FakeBackend, answer, fakeAction, nextRender, thread, type ScriptedEvent } from "../fake_backend";
import { mountComponent } from "../helpers";

const env = { services: { action: fakeAction } };

/** Types `text` in the panel's composer and sends it with Enter, as the user does. */
async function sendFromPanel(fixture: HTMLElement, text: string): Promise<void> {
    const input = fixture.querySelector(".o_llm_composer_input") as HTMLTextAreaElement;
    input.value = text;
    input.dispatchEvent(new InputEvent("input", { bubbles: true }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    await nextRender();
    await nextRender();
}

describe("ChatterPanel", () => {
    test("opens the newest thread linked to the record; others are in the picker", async () => {
        const backend = new FakeBackend();
        backend.threads = [
            thread({ id: 3, name: "Newest", res_model: "res.partner", res_id: 7, record_name: "Azure" }),
            thread({ id: 2, name: "Older", res_model: "res.partner", res_id: 7 }),
            thread({ id: 1, name: "Elsewhere" }),
        ];
        const fixture = await mountComponent(ChatterPanel, { resModel: "res.partner", resId: 7, onClose: () => {}, backend }, env);
        await nextRender();
        const options = [...fixture.querySelectorAll(".o_llm_chatter_threads option")].map((o) => o.textContent);
        expect(options).toEqual(["Newest", "Older", "+ New conversation"]);
        expect(backend.calls.find(([m]) => m === "llm_ui_list")![2]).toMatchObject({ res_model: "res.partner", res_id: 7 });
        expect(fixture.querySelector(".o_llm_suggestion")?.textContent).toBe("Summarize Azure");
    });

    test("the record's prompts are one-click suggestions, their text filled in", async () => {
        const backend = new FakeBackend();
        backend.prompts = [
            { id: 1, name: "Summarise this record", text: "Summarise Azure Interior in a few bullet points." },
            { id: 2, name: "What should I do next?", text: "Looking at Azure Interior, what next?" },
        ];
        backend.threads = [thread({ id: 3, res_model: "res.partner", res_id: 7, record_name: "Azure" })];
        const fixture = await mountComponent(ChatterPanel, { resModel: "res.partner", resId: 7, onClose: () => {}, backend }, env);
        await nextRender();
        const buttons = [...fixture.querySelectorAll<HTMLButtonElement>(".o_llm_suggestion")];
        expect(buttons.map((b) => b.textContent)).toEqual(["Summarise this record", "What should I do next?"]);
        backend.scripts.push(answer("Three points."));
        buttons[0]!.click();
        await nextRender();
        await nextRender();
        expect(backend.requests[0]!.message).toBe("Summarise Azure Interior in a few bullet points.");
    });

    test("no thread yet: a new one linked to the record is ready to ask, focused", async () => {
        const backend = new FakeBackend();
        const fixture = await mountComponent(ChatterPanel, { resModel: "res.partner", resId: 7, onClose: () => {}, backend }, env);
        await nextRender();
        expect(document.activeElement).toBe(fixture.querySelector(".o_llm_composer_input"));
        // A draft: created with its first message.
        expect(backend.threads).toEqual([]);
        backend.scripts.push(answer("Azure is a customer."));
        (fixture.querySelector(".o_llm_suggestion") as HTMLButtonElement).click();
        await nextRender();
        await nextRender();
        expect(backend.threads[0]).toMatchObject({ res_model: "res.partner", res_id: 7, name: "Summarize Azure Interior" });
        expect(backend.requests[0]!.message).toBe("Summarize Azure Interior");
        expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.textContent).toBe("Azure is a customer.\n");
    });

    test("a tool call that changed the record reloads its form; one that only read it does not", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 3, res_model: "res.partner", res_id: 7 })];
        let reloads = 0;
        const fixture = await mountComponent(ChatterPanel, {
            resModel: "res.partner", resId: 7, onClose: () => {}, onRecordChanged: () => reloads++, backend,
        }, env);
        await nextRender();
        const call = (id: string, name: string, changed: boolean): ScriptedEvent[] => [
            ["tool_call_started", { message_id: 11, call_id: id, name, arguments: { model: "res.partner", id: 7 } }],
            ["tool_call_finished", {
                message_id: 12, call_id: id, name, result: "{}", error: null,
                records: [{ model: "res.partner", id: 7, label: "Azure", changed }],
            }],
        ];
        const [user, assistant, ...rest] = answer("Done.");
        backend.scripts.push([user!, assistant!, ...call("r1", "read_record", false), ...call("w1", "update_record", true), ...rest]);
        await sendFromPanel(fixture, "Change the phone");
        expect(reloads).toBe(1);
    });

    test("the form's unsaved edits are saved before an answer starts, not over a tool's change", async () => {
        // The form reloads after a tool's change by saving first: unsaved values then overwrote
        // the change the user had approved. Saved before the answer, the form has none left.
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 3, res_model: "res.partner", res_id: 7 })];
        const steps: string[] = [];
        const fixture = await mountComponent(ChatterPanel, {
            resModel: "res.partner", resId: 7, onClose: () => {}, backend,
            saveRecord: async () => Boolean(steps.push(`saved, ${backend.requests.length} requests sent`)),
        }, env);
        await nextRender();
        backend.scripts.push(answer("Done."));
        await sendFromPanel(fixture, "Set the website");
        expect(steps).toEqual(["saved, 0 requests sent"]);
        expect(backend.requests.map((request) => request.message)).toEqual(["Set the website"]);
    });

    test("a form that cannot be saved keeps the question: nothing is asked", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 3, res_model: "res.partner", res_id: 7 })];
        const fixture = await mountComponent(ChatterPanel, {
            resModel: "res.partner", resId: 7, onClose: () => {}, backend, saveRecord: async () => false,
        }, env);
        await nextRender();
        backend.scripts.push(answer("Never."));
        await sendFromPanel(fixture, "Set the website");
        expect(backend.requests).toEqual([]);
        expect(fixture.textContent).toContain("The record could not be saved");
        expect(fixture.querySelector<HTMLTextAreaElement>(".o_llm_composer_input")!.value).toBe("Set the website");
    });

    test("a question from Ask AI is sent in a new conversation linked to the record, once", async () => {
        const backend = new FakeBackend();
        backend.threads = [thread({ id: 3, name: "Earlier", res_model: "res.partner", res_id: 7 })];
        backend.scripts.push(answer("Azure is a customer."));
        let pending = "Who is this?";
        const takeQuestion = () => {
            const question = pending;
            pending = "";
            return question;
        };
        const fixture = await mountComponent(ChatterPanel, {
            resModel: "res.partner", resId: 7, onClose: () => {}, backend, takeQuestion,
        }, env);
        await nextRender();
        await nextRender();
        expect(backend.requests.map((request) => request.message)).toEqual(["Who is this?"]);
        expect(backend.threads).toHaveLength(2);
        expect(backend.threads.find((t) => t.id !== 3)).toMatchObject({ res_model: "res.partner", res_id: 7 });
        expect(fixture.querySelector(".o_llm_message_user")?.textContent).toContain("Who is this?");
        expect(fixture.querySelector(".o_llm_message_assistant .o_llm_markdown")?.textContent).toBe("Azure is a customer.\n");
        // Taken: the panel of the pager's next record asks nothing.
        expect(takeQuestion()).toBe("");
    });

    test("Ask AI opens the chatter's panel anew for each question, saving a new record first", () => {
        const proto = Chatter.prototype as unknown as {
            askLlm(question: string): void;
            takeLlmQuestion(): string;
        };
        const opened: string[] = [];
        const chatter = {
            state: { llmOpen: false, llmAsks: undefined as number | undefined },
            openLlm() {
                opened.push("panel");
                this.state.llmOpen = true;
            },
        };
        proto.askLlm.call(chatter, "First?");
        expect(opened).toEqual(["panel"]);
        expect(proto.takeLlmQuestion.call(chatter)).toBe("First?");
        expect(proto.takeLlmQuestion.call(chatter)).toBe("");
        // Open already: not toggled closed; a new key mounts a new panel for the question.
        proto.askLlm.call(chatter, "Second?");
        expect(opened).toEqual(["panel"]);
        expect(chatter.state).toEqual({ llmOpen: true, llmAsks: 2 });
        expect(proto.takeLlmQuestion.call(chatter)).toBe("Second?");
    });

    test("the AI button drops a question Ask AI left waiting: the panel it opens asks nothing", () => {
        const proto = Chatter.prototype as unknown as {
            askLlm(question: string): void;
            onClickLlm(): void;
            takeLlmQuestion(): string;
        };
        // A new record whose save fails: the panel does not open, the question waits.
        const chatter = {
            props: { saveRecord: async () => false },
            state: { llmOpen: false, llmAsks: undefined as number | undefined, thread: undefined },
            onThreadCreated: null as (() => void) | null,
            openLlm(this: { props: { saveRecord: () => Promise<boolean> } }) {
                void this.props.saveRecord();
            },
        };
        proto.askLlm.call(chatter, "Who is this?");
        expect(chatter.state.llmOpen).toBe(false);
        // Later the user clicks AI on the (now saved) record: nothing is sent in their name.
        proto.onClickLlm.call(chatter);
        expect(proto.takeLlmQuestion.call(chatter)).toBe("");
    });

    test("the chatter reloads the form, then fetches the messages the change posted", async () => {
        const steps: string[] = [];
        const chatter = {
            reloadParentView: async () => void steps.push("form"),
            state: { thread: { model: "res.partner", id: 7, fetchNewMessages: async () => steps.push("messages") } },
        };
        await (Chatter.prototype as unknown as { onLlmRecordChanged(): Promise<void> }).onLlmRecordChanged.call(chatter);
        expect(steps).toEqual(["form", "messages"]);
    });
});
