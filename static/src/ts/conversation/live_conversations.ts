import { reactive } from "@odoo/owl";

import { ConversationModel } from "./conversation_model";
import type { ChatBackend } from "../core/transport";

const conversations = new WeakMap<ChatBackend, Map<number, ConversationModel>>();

/**
 * The open conversations of the page, by thread id, for one backend (the web client has one).
 *
 * An answer streaming in a conversation keeps streaming while the user is elsewhere in the
 * web client (another menu, a record opened from a tool card or from the linked-record chip),
 * and the chat app or chatter panel that shows the thread next shows the same live
 * conversation. Leaving the page only closes this tab's view: the answer is written on the
 * server anyway, and a page that opens the thread again follows it from where it is.
 */
export function liveConversations(backend: ChatBackend): Map<number, ConversationModel> {
    let byThread = conversations.get(backend);
    if (!byThread) {
        byThread = new Map();
        conversations.set(backend, byThread);
    }
    return byThread;
}

/** A new (reactive) conversation model over `backend`. */
export function newConversation(backend: ChatBackend): ConversationModel {
    return reactive(new ConversationModel(backend));
}
