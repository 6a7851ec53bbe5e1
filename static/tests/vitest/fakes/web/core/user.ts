/** The signed-in user as Odoo's @web/core/user describes them (the fields the chat reads). */
export const user = { userId: 2, name: "Mitchell Admin", lang: "en-US" };
