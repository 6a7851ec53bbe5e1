import { describe, expect, test } from "vitest";

import { messageDate, parseServerDate } from "../../../src/ts/message/message_date";
import { MessageItem } from "../../../src/ts/message/message_item";
import { fakeAction } from "../fake_backend";
import { mountComponent } from "../helpers";

/** `date` as the server writes it (UTC). */
function serverDate(date: Date): string {
    return date.toISOString().slice(0, 19).replace("T", " ");
}

describe("messageDate", () => {
    const now = new Date(2026, 5, 15, 14, 30);

    test("today and yesterday by name, older days by date, the year only when not this one", () => {
        expect(messageDate(serverDate(new Date(2026, 5, 15, 9, 5)), "en-US", now).label).toBe("Today at 9:05 AM");
        expect(messageDate(serverDate(new Date(2026, 5, 14, 21, 0)), "en-US", now).label).toBe("Yesterday at 9:00 PM");
        expect(messageDate(serverDate(new Date(2026, 2, 3, 8, 0)), "en-US", now).label).toBe("Mar 3, 8:00 AM");
        expect(messageDate(serverDate(new Date(2025, 11, 31, 8, 0)), "en-US", now).label).toBe("Dec 31, 2025, 8:00 AM");
    });

    test("the full date and time with seconds on hover", () => {
        expect(messageDate(serverDate(new Date(2026, 5, 15, 9, 5, 7)), "en-US", now).title).toBe("6/15/26, 9:05:07 AM");
    });

    test("the server's UTC datetimes; nothing for a missing date", () => {
        expect(parseServerDate("2026-01-01 10:00:00")?.toISOString()).toBe("2026-01-01T10:00:00.000Z");
        expect(messageDate("", "en-US", now)).toEqual({ label: "", title: "" });
    });
});

test("a message shows its author's avatar and its date, as in Discuss", async () => {
    const message = {
        id: 2, role: "user" as const, text: "Hi", reasoning: "", reasoningSeconds: null, reasoningStartedAt: null,
        toolCalls: [], usage: null, error: "", errorDetail: "", finishReason: "", stopped: false, done: true,
        interrupted: false, versions: [], feedback: null,
        date: serverDate(new Date()),
    };
    const env = { services: { action: fakeAction } };
    const mine = await mountComponent(MessageItem, { message }, env);
    expect(mine.querySelector<HTMLImageElement>(".o_llm_avatar")?.getAttribute("src")).toBe("/web/image/res.users/2/avatar_128");
    expect(mine.querySelector(".o_llm_avatar")?.getAttribute("alt")).toBe("Mitchell Admin");
    const date = mine.querySelector(".o_llm_message_date")!;
    expect(date.textContent).toMatch(/^Today at \d{1,2}:\d\d [AP]M$/);
    expect(date.getAttribute("title")).toMatch(/:\d\d:\d\d/);
    const answer = await mountComponent(MessageItem, { message: { ...message, role: "assistant" } }, env);
    expect(answer.querySelector(".o_llm_avatar")?.getAttribute("src")).toBe("/llm_thread/static/description/icon.png");
    expect(answer.querySelector(".o_llm_avatar")?.getAttribute("alt")).toBe("Assistant");
});
