import type { Registry as OdooRegistry } from "@web/core/registry";

/** The part of Odoo's registry declared in odoo.d.ts, keeping its errors on misuse. */
class Registry<T> implements OdooRegistry<T> {
    private readonly entries = new Map<string, T>();
    // odoo.d.ts types each category's values; the fake stores whatever it is given.
    private readonly categories = new Map<string, Registry<any>>();

    add(key: string, value: T, { force = false }: { force?: boolean } = {}): this {
        if (this.entries.has(key) && !force) {
            throw new Error(`Cannot add key "${key}": it is already in the registry`);
        }
        this.entries.set(key, value);
        return this;
    }

    get(key: string): T {
        if (!this.entries.has(key)) {
            throw new Error(`Cannot find key "${key}" in the registry`);
        }
        return this.entries.get(key) as T;
    }

    category(name: string): Registry<any> {
        let category = this.categories.get(name);
        if (!category) {
            category = new Registry();
            this.categories.set(name, category);
        }
        return category;
    }
}

export const registry: OdooRegistry<unknown> = new Registry();
