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
    }

    export const registry: Registry<unknown>;
}
