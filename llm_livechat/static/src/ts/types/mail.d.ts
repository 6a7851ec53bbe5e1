// Types for the Odoo 18 mail modules llm_livechat's bundle imports (read from the 18.0 source);
// llm_thread's static/src/ts/types/odoo.d.ts declares the @web ones. Only what is used here.

declare module "@mail/core/common/record" {
    /** Declares a field of a mail Store model (mail/static/src/model/record.js). */
    export const Record: {
        attr<T>(defaultValue: T, options?: { onUpdate?(this: never): void }): T;
    };
}

declare module "@mail/core/common/thread_model" {
    /** A conversation of mail's Store (with the fields Discuss and im_livechat give it). */
    export class Thread {
        readonly id: number;
        readonly model: string;
        readonly channel_type?: string;
        readonly livechat_active?: boolean;
        readonly selfMember?: object;
        /** The current user's member has it pinned (listed); false or undefined otherwise. */
        readonly is_pinned?: boolean;
        /** Shown in Discuss's sidebar though the user is not a member (a preview). */
        isLocallyPinned: boolean;
        readonly store: {
            readonly discuss: { readonly thread?: Thread };
            readonly env: { readonly services: { readonly orm: Orm } };
        };
        setup(): void;
        /** A new message arrived: opens or folds its chat window, rings (per the settings). */
        notifyMessageToUser(message: unknown): void;
        eq(other: Thread | undefined): boolean;
        /** Leaves the conversation (discuss.channel.action_unfollow). */
        leave(): Promise<void>;
    }

    export interface Orm {
        call(model: string, method: string, args: unknown[]): Promise<unknown>;
    }
}

declare module "@mail/core/common/thread_actions" {
    import type { Thread } from "@mail/core/common/thread_model";

    /** What an action's callbacks get: the Discuss or chat window header showing `thread`. */
    export interface ThreadActionHost {
        readonly thread?: Thread;
    }

    /** An entry of the header actions of Discuss and chat windows (thread_actions.js). */
    export interface ThreadAction {
        condition(component: ThreadActionHost): boolean;
        icon: string;
        name: string;
        open(component: ThreadActionHost): void;
        sequence: number;
        sequenceGroup?: number;
    }

    export const threadActionsRegistry: {
        add(key: string, action: ThreadAction): unknown;
    };
}

declare module "@mail/discuss/core/public_web/discuss_sidebar_categories" {
    import type { ComponentConstructor } from "@odoo/owl";

    /** Components shown at the end of each conversation of Discuss's sidebar (props: thread). */
    export const discussSidebarChannelIndicatorsRegistry: {
        add(key: string, component: ComponentConstructor): unknown;
    };
}

declare module "@mail/core/public_web/discuss" {
    import type { Component } from "@odoo/owl";

    /** The Discuss app (template mail.Discuss, whose header shows the conversation). */
    export class Discuss extends Component {
        static components: { [name: string]: unknown };
    }
}

declare module "@mail/core/common/chat_window" {
    import type { Component } from "@odoo/owl";

    /** A chat window (template mail.ChatWindow, header in mail.ChatWindow.headerContent). */
    export class ChatWindow extends Component {
        static components: { [name: string]: unknown };
    }
}

declare module "@mail/core/public_web/messaging_menu" {
    import type { Thread } from "@mail/core/common/thread_model";

    /** The messaging menu: the systray's dropdown, and Discuss's list on a phone. */
    export class MessagingMenu {
        static components: { [name: string]: unknown };
        /** The conversations listed under the active tab. */
        get threads(): Thread[];
        readonly env: { readonly inDiscussApp?: boolean };
        readonly store: {
            /** "main" (everything), "chat", "channel", "livechat" (im_livechat's tab)... */
            readonly discuss: { readonly activeTab: string };
            readonly Thread: { readonly records: { readonly [localId: string]: Thread } };
        };
    }
}
