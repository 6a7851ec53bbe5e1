import { Component } from "@odoo/owl";

import { _t } from "../core/l10n";

export interface ChatAppProps {
    /** The `ir.actions.client` record being run; type more of it as we come to read it. */
    action: { tag: string };
    /** "o_action": the web client's layout class that makes an action fill the screen. */
    className?: string;
}

/**
 * The LLM Chat client action (tag "llm_thread.chat"): the conversation list on the left, the
 * open conversation on the right. Until the chat engine lands it shows its empty state only.
 */
export class ChatApp extends Component<ChatAppProps> {
    static template = "llm_thread.ChatApp";
    static props = {
        action: Object,
        className: { type: String, optional: true },
        // The action service also passes actionId, updateActionState, state, globalState and
        // whatever doAction() was given in `props`: accept them as Odoo's client actions do.
        "*": true as const,
    };
    // Breadcrumb title when the action is restored from the URL without its record's name.
    static displayName = _t("LLM Chat");
}
