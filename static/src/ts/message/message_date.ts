import { _t } from "../core/l10n";

/** A server datetime ("2026-01-01 10:00:00", UTC, as the ORM sends it) as a Date. */
export function parseServerDate(value: string): Date | null {
    const date = new Date(`${value.replace(" ", "T")}Z`);
    return value && !Number.isNaN(date.getTime()) ? date : null;
}

/** Now as the server writes datetimes: the date of a message created on this page. */
export function serverNow(): string {
    return new Date().toISOString().slice(0, 19).replace("T", " ");
}

function sameDay(a: Date, b: Date): boolean {
    return a.toDateString() === b.toDateString();
}

/**
 * A message's date as Discuss shows it (mail's Message.dateSimpleWithDay): "Today at 10:32",
 * "Yesterday at 10:32", else the date and time (the year only when it is not this one); and,
 * on hover, the full date and time with seconds (mail's datetimeShort).
 */
export function messageDate(value: string, locale: string, now = new Date()): { label: string; title: string } {
    const date = parseServerDate(value);
    if (!date) {
        return { label: "", title: "" };
    }
    const time = date.toLocaleTimeString(locale, { hour: "numeric", minute: "2-digit" });
    const yesterday = new Date(now);
    yesterday.setDate(now.getDate() - 1);
    let label: string;
    if (sameDay(date, now)) {
        label = _t("Today at %s").replace("%s", time);
    } else if (sameDay(date, yesterday)) {
        label = _t("Yesterday at %s").replace("%s", time);
    } else {
        label = date.toLocaleString(locale, {
            month: "short",
            day: "numeric",
            year: date.getFullYear() === now.getFullYear() ? undefined : "numeric",
            hour: "numeric",
            minute: "2-digit",
        });
    }
    const title = date.toLocaleString(locale, { dateStyle: "short", timeStyle: "medium" });
    return { label, title };
}
