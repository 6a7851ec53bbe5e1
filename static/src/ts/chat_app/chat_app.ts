import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { useSetupAction } from "@web/search/action_hook";

import { useChatBackend } from "../core/backend";
import { _t } from "../core/l10n";
import { ChatController } from "../conversation/chat_controller";
import { Conversation } from "../conversation/conversation";
import type { ChatBackend } from "../conversation/transport";
import { ThreadHeader } from "../header/thread_header";
import { ThreadList } from "../thread_list/thread_list";

export interface ChatAppProps {
    /** The `ir.actions.client` record being run. */
    action: { tag: string; context?: { active_id?: number }; params?: { thread_id?: number } };
    /** "o_action": the web client's layout class that makes an action fill the screen. */
    className?: string;
    /** Tests inject a backend; in Odoo it is built from the services. */
    backend?: ChatBackend;
    updateActionState?: (state: Record<string, unknown>) => void;
    /** What `getLocalState` saved when the user left for another screen (breadcrumbs). */
    state?: { thread_id?: number | null };
}

/**
 * The LLM Chat client action (tag "llm_thread.chat", URL /odoo/llm-chat): the thread list on
 * the left, the open conversation with its header on the right. The open thread is kept in the
 * action state, so a reload (or a shared URL) reopens it.
 */
export class ChatApp extends Component<ChatAppProps> {
    static template = "llm_thread.ChatApp";
    static components = { Conversation, ThreadHeader, ThreadList };
    static props = {
        action: Object,
        className: { type: String, optional: true },
        backend: { type: Object, optional: true },
        updateActionState: { type: Function, optional: true },
        // The action service also passes actionId, state, globalState and whatever doAction()
        // was given in `props`: accept them as Odoo's client actions do.
        "*": true as const,
    };
    static displayName = _t("LLM Chat");

    declare backend: ChatBackend;
    declare controller: ChatController;
    declare action: { doAction(action: unknown): Promise<unknown> };

    setup(): void {
        this.backend = this.props.backend ?? useChatBackend();
        this.action = useService("action");
        this.controller = useState(new ChatController(this.backend));
        // Back from another screen (a record opened from the chat) through the breadcrumbs,
        // the same conversation is open again, an answer still streaming in it included.
        useSetupAction({ getLocalState: () => ({ thread_id: this.controller.activeId }) });
        // `?.` on action too: OWL validates a root component's props after setup().
        const { context, params } = this.props.action ?? {};
        const initial =
            this.props.state?.thread_id ?? context?.active_id ?? params?.thread_id ?? null;
        onWillStart(() => this.controller.start(initial));
        onWillUnmount(() => this.controller.close());
    }

    get conversation() {
        return this.controller.conversation;
    }

    private remember(id: number | null): void {
        this.props.updateActionState?.({ active_id: id ?? undefined });
    }

    async openThread(id: number): Promise<void> {
        await this.controller.open(id);
        this.remember(id);
    }

    async newThread(): Promise<void> {
        this.remember(await this.controller.create());
    }

    async deleteThread(id: number): Promise<void> {
        await this.controller.remove(id);
        this.remember(this.controller.activeId);
    }

    configure(): void {
        void this.action.doAction("llm_thread.action_llm_provider");
    }
}
