import { reactive } from "@odoo/owl";
import { describe, expect, test, vi } from "vitest";

import { ConversationModel } from "../../../src/ts/conversation/conversation_model";
import { answerHtml, MessageActions, type MessageActionHandlers } from "../../../src/ts/message/message_actions";
import { FakeBackend, answer, fakeAction, messageView, nextRender, thread } from "../fake_backend";
import { mountComponent } from "../helpers";

const env = { services: { action: fakeAction } };

function handlers(values: Partial<MessageActionHandlers> = {}): MessageActionHandlers {
    return {
        idle: true, lastId: 11, record: null, recipients: vi.fn(async () => []), refusedEdit: null,
        regenerate: vi.fn(), editAndResend: vi.fn(), continueAnswer: vi.fn(), switchVersion: vi.fn(), rate: vi.fn(),
        ...values,
    };
}

function click(fixture: HTMLElement, selector: string): void {
    (fixture.querySelector(selector) as HTMLElement).click();
}

describe("MessageActions", () => {
    test("versions: '2/3' with the previous and next versions a click away", async () => {
        const actions = handlers();
        const fixture = await mountComponent(MessageActions, { message: messageView({ id: 11, versions: [5, 11, 20] }), actions }, env);
        expect(fixture.querySelector(".o_llm_version_label")?.textContent).toBe("2/3");
        click(fixture, ".o_llm_version_prev");
        click(fixture, ".o_llm_version_next");
        expect(vi.mocked(actions.switchVersion).mock.calls).toEqual([[5], [20]]);
    });

    test("no switcher, regenerate or edit while an answer is written", async () => {
        const fixture = await mountComponent(MessageActions, {
            message: messageView({ versions: [5, 11] }), actions: handlers({ idle: false }),
        }, env);
        expect(fixture.querySelector(".o_llm_regenerate")).toBeNull();
        expect((fixture.querySelector(".o_llm_version_prev") as HTMLButtonElement).disabled).toBe(true);
    });

    test("a failed last answer offers its Retry only, an earlier failed one still Regenerate", async () => {
        const failed = await mountComponent(MessageActions, {
            message: messageView({ id: 11, text: "", error: "The provider refused." }), actions: handlers({ lastId: 11 }),
        }, env);
        expect(failed.querySelector(".o_llm_regenerate")).toBeNull();
        const earlier = await mountComponent(MessageActions, {
            message: messageView({ id: 11, text: "", error: "The provider refused." }), actions: handlers({ lastId: 13 }),
        }, env);
        expect(earlier.querySelector(".o_llm_regenerate")).not.toBeNull();
    });

    test("a thumb rates at once, then asks for an optional comment", async () => {
        const actions = handlers();
        const fixture = await mountComponent(MessageActions, { message: messageView(), actions }, env);
        click(fixture, ".o_llm_rate_down");
        await nextRender();
        const input = fixture.querySelector(".o_llm_feedback_input") as HTMLInputElement;
        expect(vi.mocked(actions.rate).mock.calls[0]).toEqual([11, "down", ""]);
        expect(input).not.toBeNull();
    });

    test("Copy works without navigator.clipboard (plain http), and says when nothing was copied", async () => {
        Object.defineProperty(navigator, "clipboard", { configurable: true, value: undefined });
        let result = true;
        const copied: string[] = [];
        Object.defineProperty(document, "execCommand", {
            configurable: true,
            value: () => {
                copied.push((document.body.lastElementChild as HTMLTextAreaElement).value);
                return result;
            },
        });
        const fixture = await mountComponent(MessageActions, { message: messageView({ text: "**Hi**" }), actions: handlers() }, env);
        click(fixture, ".o_llm_copy_answer");
        await vi.waitFor(() => expect(fixture.querySelector(".o_llm_copy_answer .fa-check")).not.toBeNull());
        expect(copied).toEqual(["**Hi**"]);
        expect(fixture.querySelector(".o_llm_copy_failed")).toBeNull();
        result = false;
        click(fixture, ".o_llm_copy_answer");
        await vi.waitFor(() => expect(fixture.querySelector(".o_llm_copy_failed")?.textContent).toContain("Ctrl+C"));
        expect(fixture.querySelector(".o_llm_copy_answer .fa-check")).toBeNull();
    });

    test("Continue is offered under the last answer cut by the length limit", async () => {
        const actions = handlers();
        const fixture = await mountComponent(MessageActions, { message: messageView({ finishReason: "length" }), actions }, env);
        expect(fixture.querySelector(".o_llm_length_cut .o_llm_continue")?.textContent).toBe("Continue");
        click(fixture, ".o_llm_continue");
        expect(actions.continueAnswer).toHaveBeenCalledWith(11);
    });

    test("Log as note opens mail's composer on the record with the answer as HTML", async () => {
        fakeAction.actions.length = 0;
        const fixture = await mountComponent(MessageActions, {
            message: messageView({ text: "**Done**\n\n```py\nx = 1\n```" }),
            actions: handlers({ record: { model: "res.partner", id: 7 } }),
        }, env);
        click(fixture, ".o_llm_log_note");
        const action = fakeAction.actions[0] as { res_model: string; context: Record<string, unknown> };
        expect(action.res_model).toBe("mail.compose.message");
        expect(action.context).toMatchObject({
            default_model: "res.partner", default_res_ids: [7], default_subtype_xmlid: "mail.mt_note",
        });
        expect(action.context["default_body"]).toContain("<strong>Done</strong>");
        expect(action.context["default_body"]).not.toContain("o_llm_code_copy");
        expect(fixture.querySelector(".o_llm_send_message")).not.toBeNull();
    });

    test("Send as message fills To with the recipients mail suggests for the record", async () => {
        fakeAction.actions.length = 0;
        const fixture = await mountComponent(MessageActions, {
            message: messageView({ text: "Dear customer" }),
            actions: handlers({ record: { model: "res.partner", id: 7 }, recipients: async () => [7, 9] }),
        }, env);
        click(fixture, ".o_llm_send_message");
        await nextRender();
        const action = fakeAction.actions[0] as { context: Record<string, unknown> };
        expect(action.context).toMatchObject({
            default_model: "res.partner", default_res_ids: [7], default_subtype_xmlid: "mail.mt_comment",
            default_partner_ids: [7, 9],
        });
    });

    test("no note or message without a record the user may post on", async () => {
        const fixture = await mountComponent(MessageActions, { message: messageView(), actions: handlers() }, env);
        expect(fixture.querySelector(".o_llm_log_note")).toBeNull();
    });

    test("edit and resend: the question in a text area, sent with Enter", async () => {
        const actions = handlers();
        const fixture = await mountComponent(MessageActions, { message: messageView({ id: 10, role: "user", text: "Q1" }), actions }, env);
        click(fixture, ".o_llm_edit_button");
        await nextRender();
        const input = fixture.querySelector(".o_llm_edit_input") as HTMLTextAreaElement;
        expect(input.value).toBe("Q1");
        input.value = "Q1, better";
        input.dispatchEvent(new Event("input"));
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
        expect(actions.editAndResend).toHaveBeenCalledWith(10, "Q1, better", []);
    });

    test("edit and resend: the question's files can be removed and more attached, the text too", async () => {
        URL.createObjectURL = vi.fn(() => "blob:preview");
        URL.revokeObjectURL = vi.fn();
        const actions = handlers();
        const message = messageView({
            id: 10, role: "user", text: "Q1",
            attachments: [{ id: 7, name: "photo.png", mimetype: "image/png" }, { id: 8, name: "notes.md", mimetype: "text/markdown" }],
        });
        const fixture = await mountComponent(MessageActions, { message, actions }, env);
        click(fixture, ".o_llm_edit_button");
        await nextRender();
        const names = () => [...fixture.querySelectorAll(".o_llm_edit .o_llm_attachment_name")].map((el) => el.textContent);
        expect(names()).toEqual(["photo.png", "notes.md"]);
        expect(fixture.querySelector(".o_llm_edit .o_llm_attachment_thumb")!.getAttribute("src")).toBe("/web/image/7/160x160");
        click(fixture, ".o_llm_edit .o_llm_attachment_remove");
        const picker = fixture.querySelector<HTMLInputElement>(".o_llm_edit .o_llm_file_input")!;
        Object.defineProperty(picker, "files", { value: [new File(["a"], "more.txt")], configurable: true });
        picker.dispatchEvent(new Event("change", { bubbles: true }));
        await vi.waitFor(() => expect(names()).toEqual(["notes.md", "more.txt"]));
        const input = fixture.querySelector(".o_llm_edit_input") as HTMLTextAreaElement;
        input.value = "";
        input.dispatchEvent(new Event("input"));
        await nextRender();
        expect(fixture.querySelector<HTMLButtonElement>(".o_llm_edit_send")!.disabled).toBe(false);
        click(fixture, ".o_llm_edit_send");
        const [id, text, files] = vi.mocked(actions.editAndResend).mock.calls[0]!;
        expect([id, text, files.map((f) => [f.name, f.id])]).toEqual([10, "", [["notes.md", 8], ["more.txt", null]]]);
    });

    test("an edit with neither text nor files cannot be sent; a refused one reopens as it was", async () => {
        const actions = handlers();
        const message = messageView({ id: 10, role: "user", text: "Q1", attachments: [{ id: 8, name: "notes.md", mimetype: "text/markdown" }] });
        const fixture = await mountComponent(MessageActions, { message, actions }, env);
        click(fixture, ".o_llm_edit_button");
        await nextRender();
        click(fixture, ".o_llm_edit .o_llm_attachment_remove");
        const input = fixture.querySelector(".o_llm_edit_input") as HTMLTextAreaElement;
        input.value = " ";
        input.dispatchEvent(new Event("input"));
        await nextRender();
        expect(fixture.querySelector<HTMLButtonElement>(".o_llm_edit_send")!.disabled).toBe(true);
        const refused = await mountComponent(MessageActions, {
            message, actions: handlers({ refusedEdit: { id: 10, text: "Q1, again", attachments: [] } }),
        }, env);
        expect(refused.querySelector<HTMLTextAreaElement>(".o_llm_edit_input")!.value).toBe("Q1, again");
        expect(refused.querySelector(".o_llm_edit .o_llm_attachment_chip")).toBeNull();
    });

    test("answerHtml drops the chat's code copy buttons", () => {
        expect(answerHtml("```\ncode\n```")).not.toContain("button");
    });

    test("answerHtml posts quotes as blocks mail does not fold, and formulas as their TeX", () => {
        const html = answerHtml("> Quoted\n> > twice\n\nMass: $E = mc^2$.");
        expect(html).not.toContain("blockquote");
        expect(html).toContain('<div style="border-left-style: solid;');
        expect(html).toMatch(/^<div style="[^"]*">\s*<p>Quoted<\/p>\s*<div style="[^"]*">\s*<p>twice<\/p>/);
        expect(html).toContain("<p>Mass: <code>E = mc^2</code>.</p>");
    });
});

describe("ConversationModel answer actions", () => {
    async function conversation(backend: FakeBackend) {
        backend.threads = [thread({
            messages: [
                { id: 10, role: "user", text: "Q1", data: {}, date: "" },
                { id: 11, role: "assistant", text: "A1", data: { finish_reason: "length" }, date: "" },
            ],
        })];
        const model = reactive(new ConversationModel(backend));
        await model.load(1);
        return model;
    }

    test("regenerate drops the old answer, streams the new one, then reloads the versions", async () => {
        const backend = new FakeBackend();
        const model = await conversation(backend);
        backend.scripts.push(answer("A1 again", { answerId: 12 }).slice(1));
        const loads = backend.calls.length;
        await model.regenerate(11);
        expect(backend.requests[0]!.action).toEqual({ kind: "regenerate", messageId: 11 });
        expect(backend.requests[0]!.message).toBeNull();
        expect(backend.calls.slice(loads).map(([method]) => method)).toEqual(["llm_ui_load"]);
    });

    test("edit replaces the question and what followed; continue appends to the answer", async () => {
        const backend = new FakeBackend();
        const model = await conversation(backend);
        backend.scripts.push((request) => {
            expect(model.messages.map((m) => m.text)).toEqual(["Q1 edited"]);
            return Promise.resolve(request.onEvent("done", { thread_id: 1, state: "idle" }));
        });
        await model.editAndResend(10, "Q1 edited");
        expect(backend.requests[0]!.action).toEqual({ kind: "edit", messageId: 10 });
        expect(backend.requests[0]!.message).toBe("Q1 edited");

        backend.scripts.push((request) => {
            request.onEvent("text_delta", { message_id: 11, text: " and more" });
            expect(model.messages.map((m) => [m.id, m.text, m.done])).toEqual([[10, "Q1", true], [11, "A1 and more", false]]);
            return Promise.resolve(request.onEvent("done", { thread_id: 1, state: "idle" }));
        });
        await model.continueAnswer(11);
        expect(backend.requests[1]!.action).toEqual({ kind: "continue", messageId: 11 });
    });
});
