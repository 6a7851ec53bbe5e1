import { expect, test } from "vitest";

import { RecordPicker } from "../../../src/ts/record_picker/record_picker";
import { FakeBackend, nextRender } from "../fake_backend";
import { mountComponent } from "../helpers";

class PickerBackend extends FakeBackend {
    override async call<T>(method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<T> {
        if (method === "llm_ui_readable_models") {
            return [
                { model: "res.partner", name: "Contact" },
                { model: "sale.order", name: "Sales Order" },
                { model: "ir.attachment", name: "Attachment" },
            ] as T;
        }
        return super.call(method, args, kwargs);
    }
}

function key(el: Element, name: string) {
    el.dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true, cancelable: true }));
}

test("the search has the focus; arrow keys move through the options, Enter picks", async () => {
    const picked: [string, number, string][] = [];
    const fixture = await mountComponent(RecordPicker, {
        backend: new PickerBackend(),
        onPick: (model: string, id: number, name: string) => picked.push([model, id, name]),
        onCancel: () => {},
    });
    await nextRender();
    const input = fixture.querySelector<HTMLInputElement>(".o_llm_record_picker_input")!;
    expect(document.activeElement).toBe(input);
    const active = () => fixture.querySelector("[role=option][aria-selected=true]")?.textContent?.trim();
    expect(active()).toBe("Contact res.partner");
    key(input, "ArrowDown");
    key(input, "ArrowDown");
    await nextRender();
    expect(active()).toBe("Attachment ir.attachment");
    expect(input.getAttribute("aria-activedescendant")).toBe(
        fixture.querySelector("[role=option][aria-selected=true]")!.id,
    );
    key(input, "ArrowDown"); // wraps around
    key(input, "ArrowUp");
    key(input, "ArrowUp");
    await nextRender();
    expect(active()).toBe("Sales Order sale.order");
    key(input, "ArrowUp");
    key(input, "Enter"); // Contact
    await nextRender();
    expect(fixture.querySelector("strong")?.textContent).toBe("Contact");
    expect(document.activeElement).toBe(input);
    expect(active()).toBe("Azure Interior");
    key(input, "Enter");
    expect(picked).toEqual([["res.partner", 7, "Azure Interior"]]);
});
