// The one place that imports Odoo's `_t`. Importing it from a single module lets esbuild
// bind it once, so the bundle keeps literal `_t("...")` calls that Odoo's translation
// extractor (babel, keyword `_t`) finds; two imports could come out renamed `_t2`.
export { _t } from "@web/core/l10n/translation";
