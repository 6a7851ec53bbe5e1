import type { CitationView } from "./types";

/** The citations stored on a user message (`body_json.knowledge`, see
 * models/llm_knowledge_thread.py), keeping only well-formed entries. */
export function citationsFrom(value: unknown): CitationView[] {
    if (!Array.isArray(value)) {
        return [];
    }
    const citations: CitationView[] = [];
    for (const item of value as unknown[]) {
        if (typeof item !== "object" || item === null) {
            continue;
        }
        const entry = item as Record<string, unknown>;
        if (typeof entry["n"] === "number" && typeof entry["label"] === "string") {
            citations.push({
                n: entry["n"],
                label: entry["label"],
                url: typeof entry["url"] === "string" ? entry["url"] : "",
                quote: typeof entry["quote"] === "string" ? entry["quote"] : "",
            });
        }
    }
    return citations;
}

/** The citations an answer refers to with their number in brackets, e.g. "[2]". */
export function citedIn(text: string, citations: CitationView[]): CitationView[] {
    return citations.filter((citation) => text.includes(`[${citation.n}]`));
}
