import { _t } from "../core/l10n";

export interface RecencyGroup<T> {
    label: string;
    items: T[];
}

/** Odoo's "YYYY-MM-DD HH:MM:SS" UTC datetime as a Date. */
export function parseServerDate(value: string): Date {
    return new Date(value.replace(" ", "T") + (value.endsWith("Z") ? "" : "Z"));
}

/** Items grouped as chat apps do: today, yesterday, the last 7 and 30 days, older. */
export function groupByRecency<T>(
    items: T[],
    dateOf: (item: T) => string,
    now: Date = new Date(),
): RecencyGroup<T>[] {
    const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
    const day = 24 * 3600 * 1000;
    const bounds: [string, number][] = [
        [_t("Today"), startOfToday],
        [_t("Yesterday"), startOfToday - day],
        [_t("Previous 7 days"), startOfToday - 7 * day],
        [_t("Previous 30 days"), startOfToday - 30 * day],
        [_t("Older"), -Infinity],
    ];
    const groups: RecencyGroup<T>[] = bounds.map(([label]) => ({ label, items: [] }));
    for (const item of items) {
        const time = parseServerDate(dateOf(item)).getTime();
        const index = bounds.findIndex(([, start]) => time >= start);
        groups[index === -1 ? bounds.length - 1 : index]!.items.push(item);
    }
    return groups.filter((group) => group.items.length);
}
