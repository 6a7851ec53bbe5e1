/** Odoo's session info, as much as the bundle reads; tests set what they need. */
export const session: { llm_currency?: string; llm_user?: boolean } = { llm_user: true };
