/** The user's language settings as Odoo's @web/core/l10n/localization holds them (en_US);
 * a test may change them and must restore them. */
export const localization = {
    decimalPoint: ".",
    thousandsSep: ",",
    grouping: [3, 0],
    direction: "ltr" as "ltr" | "rtl",
    code: "en_US",
};
