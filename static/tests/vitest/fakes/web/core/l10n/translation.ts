import type { _t as odooTranslate } from "@web/core/l10n/translation";

// No translations in unit tests: every term reads as written.
export const _t: typeof odooTranslate = (term) => term;
