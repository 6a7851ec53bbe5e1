// What the composer accepts as attachments, checked before uploading so the user learns at
// once; the server checks the same again (models/llm_thread_attachments.py, whose values the
// test static/tests/vitest/composer/attachments.test.ts compares with these).
import { _t } from "../core/l10n";
import type { AttachmentView } from "../core/transport";

export const MAX_ATTACHMENTS = 10;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Images every format with vision reads, by extension. */
export const IMAGE_TYPES: Record<string, string> = {
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
};
/** Files sent as their text, by extension. */
export const TEXT_TYPES: Record<string, string> = {
    txt: "text/plain",
    md: "text/markdown",
    csv: "text/csv",
    json: "application/json",
};
export const DOCUMENT_TYPES: Record<string, string> = {
    pdf: "application/pdf",
    docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    odt: "application/vnd.oasis.opendocument.text",
    ods: "application/vnd.oasis.opendocument.spreadsheet",
    odp: "application/vnd.oasis.opendocument.presentation",
};

/** The file picker's `accept`: every extension above. */
export const ACCEPT = [...Object.keys(IMAGE_TYPES), ...Object.keys(TEXT_TYPES), ...Object.keys(DOCUMENT_TYPES)]
    .map((extension) => `.${extension}`)
    .join(",");

/** An attachment in the composer: a file still to upload, or one uploaded already (`id`). */
export interface PendingAttachment {
    key: number;
    name: string;
    mimetype: string;
    /** Uploaded with the message; null once the server has it. */
    file: File | null;
    /** The server's ir.attachment id, once uploaded. */
    id: number | null;
    /** The chip's thumbnail: an object URL of a local image, the server's for an uploaded one. */
    previewUrl: string;
}

let lastKey = 0;

export function isImage(attachment: { mimetype: string }): boolean {
    return attachment.mimetype.startsWith("image/");
}

/** Where the chat shows a stored attachment: the file, and an image's thumbnail. */
export function contentUrl(attachment: AttachmentView, download = false): string {
    return `/web/content/${attachment.id}${download ? "?download=true" : ""}`;
}

export function thumbnailUrl(attachment: AttachmentView): string {
    return `/web/image/${attachment.id}/160x160`;
}

/** The MIME type a file is accepted as, or "" when it is not: an image by its browser type
 * (a pasted image has no useful name), any file by its extension. */
export function acceptedType(file: File): string {
    if (Object.values(IMAGE_TYPES).includes(file.type)) {
        return file.type;
    }
    const extension = file.name.includes(".") ? file.name.split(".").pop()!.toLowerCase() : "";
    return IMAGE_TYPES[extension] ?? TEXT_TYPES[extension] ?? DOCUMENT_TYPES[extension] ?? "";
}

function megabytes(bytes: number): string {
    return String(Math.round((bytes / 2 ** 20) * 10) / 10);
}

/** Why `file` cannot be attached next to `count` others, or "" when it can. */
export function refusal(file: File, count: number): string {
    if (count >= MAX_ATTACHMENTS) {
        return _t("A message takes at most %s attachments.").replace("%s", String(MAX_ATTACHMENTS));
    }
    const mimetype = acceptedType(file);
    if (!mimetype) {
        return _t(
            "%s cannot be sent to the model: attach an image (PNG, JPEG, GIF, WebP), a PDF, a text, Markdown, CSV or JSON file, or an office document (DOCX, XLSX, PPTX, ODT, ODS, ODP).",
        ).replace("%s", file.name);
    }
    if (!file.size) {
        return _t("%s is empty: there is nothing in it to send.").replace("%s", file.name);
    }
    const image = mimetype.startsWith("image/");
    const limit = image ? MAX_IMAGE_BYTES : MAX_FILE_BYTES;
    if (file.size > limit) {
        const template = image
            ? _t("%(file)s is too large (%(size)s MB; the limit for an image is %(limit)s MB).")
            : _t("%(file)s is too large (%(size)s MB; the limit for a file is %(limit)s MB).");
        return template
            .replace("%(file)s", file.name)
            .replace("%(size)s", megabytes(file.size))
            .replace("%(limit)s", megabytes(limit));
    }
    return "";
}

/** The first bytes of each image format (WebP's "WEBP" follows "RIFF" and a size). */
const IMAGE_SIGNATURES: [offset: number, bytes: number[]][] = [
    [0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
    [0, [0xff, 0xd8, 0xff]],
    [0, [0x47, 0x49, 0x46, 0x38]],
    [8, [0x57, 0x45, 0x42, 0x50]],
];

/** Why image `file` cannot be attached (not an image whatever its name, e.g. a text file
 * renamed .png: its thumbnail would be broken, and the server refuses it), or "". */
export async function imageRefusal(file: File): Promise<string> {
    const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
    const image = IMAGE_SIGNATURES.some(([offset, bytes]) => bytes.every((byte, i) => head[offset + i] === byte));
    return image
        ? ""
        : _t("%s is not a valid image: attach a PNG, JPEG, GIF or WebP picture.").replace("%s", file.name);
}

/** The files that can join `current`, and why the others cannot (one sentence each). */
export function addFiles(
    current: PendingAttachment[],
    files: File[],
    objectUrl: (file: File) => string = (file) => URL.createObjectURL(file),
): { added: PendingAttachment[]; errors: string[] } {
    const added: PendingAttachment[] = [];
    const errors: string[] = [];
    for (const file of files) {
        const error = refusal(file, current.length + added.length);
        if (error) {
            errors.push(error);
            continue;
        }
        const mimetype = acceptedType(file);
        added.push({
            key: ++lastKey,
            name: file.name,
            mimetype,
            file,
            id: null,
            previewUrl: mimetype.startsWith("image/") ? objectUrl(file) : "",
        });
    }
    return { added, errors };
}

/** An uploaded attachment back in the composer (its message was refused). */
export function pendingFrom(attachment: AttachmentView): PendingAttachment {
    return {
        key: ++lastKey,
        ...attachment,
        file: null,
        previewUrl: isImage(attachment) ? thumbnailUrl(attachment) : "",
    };
}

/**
 * The files given to a box (picked, dropped, pasted) that join `current` as chips, and why the
 * others do not (one sentence each): an image is read first, to refuse a file that only has
 * an image's name.
 */
export async function acceptFiles(
    current: PendingAttachment[],
    files: File[],
): Promise<{ added: PendingAttachment[]; errors: string[] }> {
    const { added, errors } = addFiles(current, files);
    const refusals = await Promise.all(added.map((a) => (a.file && isImage(a) ? imageRefusal(a.file) : "")));
    const kept = added.filter((attachment, index) => {
        if (refusals[index]) {
            URL.revokeObjectURL(attachment.previewUrl);
        }
        return !refusals[index];
    });
    return { added: kept, errors: [...errors, ...refusals.filter(Boolean)] };
}

/** `attachments` without the chip `key`, whose local thumbnail is revoked. */
export function withoutAttachment(attachments: PendingAttachment[], key: number): PendingAttachment[] {
    const attachment = attachments.find((a) => a.key === key);
    if (attachment?.file && attachment.previewUrl) {
        URL.revokeObjectURL(attachment.previewUrl);
    }
    return attachments.filter((a) => a.key !== key);
}

/** The label of a chip's remove button. */
export function removeLabel(attachment: PendingAttachment): string {
    return _t("Remove %s").replace("%s", attachment.name);
}

/**
 * The files a paste attaches (a pasted image: a screenshot), its default then prevented; text
 * copied with a picture of it (office applications put both on the clipboard) stays text.
 */
export function pastedFiles(ev: ClipboardEvent): File[] {
    const data = ev.clipboardData;
    const files = [...(data?.files ?? [])];
    if (!files.length || data?.getData("text/plain")) {
        return [];
    }
    ev.preventDefault();
    return files;
}
