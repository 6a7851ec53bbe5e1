// Records that a tool call changed, announced to the whole page: a form showing one of them
// (the chatter's AI panel) reloads it. Page-wide, not per component, because a conversation
// outlives the panel that started it (see live_conversations.ts).
import type { RecordLink } from "./types";

const changes = new EventTarget();

/** Tells every listener which records a finished call changed. */
export function announceChanged(links: RecordLink[]): void {
    const changed = links.filter((link) => link.changed);
    if (changed.length) {
        changes.dispatchEvent(new CustomEvent<RecordLink[]>("changed", { detail: changed }));
    }
}

/**
 * Calls `callback` whenever a tool call changed the record `target()` names (read at each
 * change: the panel may move to another record); returns the function that unsubscribes.
 */
export function onRecordChanged(
    target: () => { model: string; id: number },
    callback: () => void,
): () => void {
    const listener = (event: Event): void => {
        const { model, id } = target();
        const links = (event as CustomEvent<RecordLink[]>).detail;
        if (links.some((link) => link.model === model && link.id === id)) {
            callback();
        }
    };
    changes.addEventListener("changed", listener);
    return () => changes.removeEventListener("changed", listener);
}
