// Odoo 18's formatFloat (web/static/src/core/utils/numbers.js), for the options the chat uses
// and a grouping whose first size repeats ([3, 0]).
import { localization } from "../l10n/localization";

export function formatFloat(
    value: number,
    options: { digits?: [number, number]; trailingZeros?: boolean } = {},
): string {
    const precision = options.digits?.[1] ?? 2;
    const [integer, decimals] = value.toFixed(precision).split(".") as [string, string?];
    const size = localization.grouping[0] ?? 3;
    const grouped = integer.replace(new RegExp(`\\B(?=(\\d{${size}})+(?!\\d))`, "g"), localization.thousandsSep);
    const fraction = options.trailingZeros === false ? decimals?.replace(/0+$/, "") : decimals;
    return fraction ? grouped + localization.decimalPoint + fraction : grouped;
}
