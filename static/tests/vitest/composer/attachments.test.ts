// @vitest-environment node
// The limits and types the composer checks are the server's; the checks' messages.
import { execFileSync } from "node:child_process";

import { describe, expect, test } from "vitest";

import {
    DOCUMENT_TYPES,
    IMAGE_TYPES,
    MAX_ATTACHMENTS,
    MAX_FILE_BYTES,
    MAX_IMAGE_BYTES,
    TEXT_TYPES,
    acceptedType,
    addFiles,
    refusal,
} from "../../../src/ts/composer/attachments";

const ATTACHMENTS_PY = new URL("../../../../models/llm_thread_attachments.py", import.meta.url).pathname;
const NAMES = ["MAX_ATTACHMENTS", "MAX_IMAGE_BYTES", "MAX_FILE_BYTES", "IMAGE_TYPES", "TEXT_TYPES", "DOCUMENT_TYPES"];

/** The module's constants, evaluated from its source (it imports Odoo, so it is not run). */
function pythonLimits(): Record<string, unknown> {
    const script = `
import ast, json, sys
tree = ast.parse(open(sys.argv[1]).read())
names = set(sys.argv[2:])
values = {node.targets[0].id: eval(compile(ast.Expression(node.value), "", "eval"))
          for node in tree.body if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in names}
print(json.dumps(values))`;
    return JSON.parse(execFileSync("python3", ["-c", script, ATTACHMENTS_PY, ...NAMES], { encoding: "utf8" }));
}

function file(name: string, size = 10, type = ""): File {
    const value = new File(["x"], name, { type });
    Object.defineProperty(value, "size", { value: size });
    return value;
}

describe("attachment limits", () => {
    test("are the server's (models/llm_thread_attachments.py)", () => {
        expect({
            MAX_ATTACHMENTS,
            MAX_IMAGE_BYTES,
            MAX_FILE_BYTES,
            IMAGE_TYPES,
            TEXT_TYPES,
            DOCUMENT_TYPES,
        }).toEqual(pythonLimits());
    });

    test("a pasted image is known by its type, a file by its extension", () => {
        expect(acceptedType(file("image.png", 10, "image/png"))).toBe("image/png");
        expect(acceptedType(file("clipboard", 10, "image/webp"))).toBe("image/webp");
        expect(acceptedType(file("Report.PDF"))).toBe("application/pdf");
        expect(acceptedType(file("notes.md"))).toBe("text/markdown");
        expect(acceptedType(file("tool.exe", 10, "application/x-msdownload"))).toBe("");
        expect(acceptedType(file("Makefile"))).toBe("");
    });

    test("each refusal says what is wrong and what is accepted", () => {
        expect(refusal(file("tool.exe"), 0)).toMatch(/^tool.exe cannot be sent to the model: attach an image \(PNG/);
        expect(refusal(file("photo.jpg", 6 * 2 ** 20), 0)).toBe(
            "photo.jpg is too large (6 MB; the limit for an image is 5 MB).",
        );
        expect(refusal(file("big.pdf", 10.5 * 2 ** 20), 0)).toBe(
            "big.pdf is too large (10.5 MB; the limit for a file is 10 MB).",
        );
        expect(refusal(file("photo.jpg", 6 * 2 ** 20 - 2 ** 20), 0)).toBe("");
        expect(refusal(file("one.txt"), MAX_ATTACHMENTS)).toBe("A message takes at most 10 attachments.");
    });

    test("addFiles keeps what fits, with image previews, and lists the rest's reasons", () => {
        const first = addFiles([], [file("a.png", 10, "image/png"), file("b.exe"), file("c.pdf")], () => "blob:a");
        expect(first.added.map((a) => [a.name, a.mimetype, a.previewUrl, a.id])).toEqual([
            ["a.png", "image/png", "blob:a", null],
            ["c.pdf", "application/pdf", "", null],
        ]);
        expect(first.errors).toHaveLength(1);
        const many = Array.from({ length: 9 }, (_, index) => file(`n${index}.txt`));
        const second = addFiles(first.added, many, () => "");
        expect(second.added).toHaveLength(8);
        expect(second.errors).toEqual(["A message takes at most 10 attachments."]);
    });
});
