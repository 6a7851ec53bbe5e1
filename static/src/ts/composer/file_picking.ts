// A hook of the boxes that take files; apart from attachments.ts, which has no Owl in it (its
// tests run without a DOM).
import { useRef } from "@odoo/owl";

import { pastedFiles } from "./attachments";

/** How a box that takes files (the composer, a question's edit box) gets them: its hidden
 *  file input (the `t-ref` named `refName`) opened by the paperclip, the files picked there,
 *  and a pasted image (a screenshot, see pastedFiles), each given to `attach`. A hook: call it
 *  in `setup()`. */
export function useFilePicking(refName: string, attach: (files: File[]) => Promise<void>) {
    const input = useRef<HTMLInputElement>(refName);
    return {
        pick(): void {
            input.el?.click();
        },
        onPicked(ev: Event): void {
            const target = ev.target as HTMLInputElement;
            void attach([...(target.files ?? [])]);
            target.value = ""; // the same file can be picked again after removing it
        },
        onPaste(ev: ClipboardEvent): void {
            const files = pastedFiles(ev);
            if (files.length) {
                void attach(files);
            }
        },
    };
}
