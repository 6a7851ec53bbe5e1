// Types for the Odoo 18 modules the bundle imports. esbuild leaves these imports external and
// Odoo's module loader provides them at runtime; declare only what we use, from the 18.0 source.

declare module "@web/core/l10n/translation" {
    /**
     * Translates `term` into the user's language. Called before translations are loaded (at
     * module evaluation), Odoo returns a lazy `String` object that translates when rendered.
     */
    export function _t(term: string): string;
}

declare module "@web/core/registry" {
    import type { ComponentConstructor } from "@odoo/owl";

    export interface Registry<T> {
        /** Throws if `key` is already registered, unless `force` is set. */
        add(key: string, value: T, options?: { force?: boolean; sequence?: number }): this;
        /** Throws if `key` is not registered. */
        get(key: string): T;
        /** Client actions: components mounted by the action service for an `ir.actions.client` tag. */
        category(name: "actions"): Registry<ComponentConstructor>;
        /** Value formatters of the views, by widget name (pivot cells, graph axes). */
        category(name: "formatters"): Registry<(value: number | false) => string>;
        /** The top bar's entries (right side), in sequence order. */
        category(name: "systray"): Registry<{ Component: ComponentConstructor }>;
        /** The command palette's namespaces: what its footer, input and empty list say. */
        category(name: "command_setup"): Registry<{ name?: string; placeholder?: string; emptyMessage?: string }>;
        /** The command palette's providers of entries, by namespace ("default" without one). */
        category(name: "command_provider"): Registry<{
            namespace?: string;
            provide(env: { services: Record<string, unknown> }, options: { searchValue: string }): { name: string; action: () => void }[];
        }>;
    }

    export const registry: Registry<unknown>;
}

declare module "@web/core/utils/hooks" {
    /** The service `name` from the component's env (throws if it is not started). */
    export function useService(name: "action"): {
        doAction(action: unknown, options?: Record<string, unknown>): Promise<unknown>;
    };
    /** Odoo's command palette: `searchValue` opens it with that text typed (a namespace). */
    export function useService(name: "command"): {
        openMainPalette(config?: { searchValue?: string }): void;
    };
    export function useService(name: string): any;
    /**
     * Focuses the element of `t-ref` `refName` (default "autofocus") whenever it appears;
     * `selectAll` selects its text. Skipped on touch devices unless `mobile` is set.
     */
    export function useAutofocus(params?: {
        refName?: string;
        selectAll?: boolean;
        mobile?: boolean;
    }): { el: HTMLElement | null };
}

declare module "@web/search/action_hook" {
    /** Hooks of a client action into the action service; `getLocalState` is handed back as
     * the `state` prop when the user returns to the action through the breadcrumbs. */
    export function useSetupAction(params: { getLocalState?: () => Record<string, unknown> }): void;
}

declare module "@web/core/user" {
    /** The signed-in user (from the session). `lang` is a BCP 47 locale, e.g. "en-US". */
    export const user: { readonly userId: number; readonly name: string; readonly lang: string };
}

declare module "@web/core/l10n/localization" {
    /** The user's language settings (res.lang), loaded by the localization service before
     * the web client starts; reading one earlier throws. */
    export const localization: {
        readonly decimalPoint: string;
        readonly thousandsSep: string;
        /** res.lang's grouping, e.g. [3, 0]. */
        readonly grouping: number[];
        readonly direction: "ltr" | "rtl";
        /** The res.lang code, e.g. "fr_FR". */
        readonly code: string;
    };
}

declare module "@web/core/utils/numbers" {
    /**
     * `value` with the user's decimal point and thousands separator; `digits[1]` decimals
     * (default 2); `trailingZeros: false` drops the decimals' trailing zeros.
     */
    export function formatFloat(
        value: number,
        options?: { digits?: [number, number]; trailingZeros?: boolean },
    ): string;
}

declare module "@web/core/network/rpc" {
    /** A JSON-RPC call to a `type="json"` route; rejects with the server's error. */
    export function rpc<T = any>(url: string, params?: Record<string, unknown>): Promise<T>;
}

declare module "@web/core/utils/patch" {
    /** Patches `target` in place (methods may call `super`); returns the unpatch function. */
    export function patch<T extends object>(target: T, extension: Record<string, any>): () => void;
}

declare module "@mail/chatter/web_portal/chatter" {
    import type { Component } from "@odoo/owl";

    /** Mail's chatter (with the backend patch of chatter/web/chatter_patch.js). */
    export class Chatter extends Component {
        static components: Record<string, unknown>;
    }
}

declare module "@web/session" {
    /** What the server's ir.http.session_info sent; `llm_currency` and `llm_user` (the user
     * may chat) are added by this addon. */
    export const session: { llm_currency?: string; llm_user?: boolean };
}

declare module "@web/core/assets" {
    /** Adds a <script> for `url` once (cached by URL); rejects when it fails to load. */
    export function loadJS(url: string): Promise<void>;
}
