// Odoo 18 does not load ES modules as such: odoo/tools/js_transpiler.py rewrites every asset's
// import and export statements with line-anchored regexes, then wraps the file in odoo.define().
// A bundle line that those regexes misread is silently mangled in the browser, so the build
// rejects it instead. Plain JavaScript (typed by JSDoc) because build.mjs runs on bare Node.

// RELATIVE_REQUIRE_RE: the transpiler takes every such call for a module dependency to wait for.
const REQUIRE_CALL = /^[^/*\n]*require\((["'`])[^"'`]+\1\)/;
// IMPORT_UNNAMED_RELATIVE_RE turns any other line starting with `import` into a require().
const IMPORT_LINE = /^\s*import\s/;
const TRANSPILABLE_IMPORT = /^import (\{[\w\s,]*\}|\* as \w+) from "[^"]+";$/;
// The EXPORT_*_RE regexes match at any line start: only the bundle's closing clause may export.
const EXPORT_LINE = /^\s*export\b/;
const FINAL_EXPORT = /^export \{[\w\s,]*\};\s*$/;
// `export { x as default }` becomes `__exports.default`, which Odoo's default imports never read.
const DEFAULT_EXPORT = /\bas\s+default\b/;
// Odoo's term extractor looks for calls to `_t` by name: a renamed `_t2("...")` is never translated.
const RENAMED_TRANSLATION = /\b_t\d+\(/;

/**
 * Lists the lines of a bundle that Odoo 18's regex transpiler would mangle.
 *
 * @param {string} code the generated bundle
 * @returns {string[]} one message per offending line; empty when the bundle is safe
 */
export function findTranspilerHazards(code) {
    const lines = code.split("\n");
    /** @type {string[]} */
    const hazards = [];
    /** @type {(index: number, reason: string) => void} */
    const report = (index, reason) => {
        hazards.push(`line ${index + 1}: ${reason}: ${lines[index]}`);
    };
    /** @type {number[]} */
    const exportLines = [];
    lines.forEach((line, index) => {
        if (REQUIRE_CALL.test(line)) {
            report(index, "require() call read as a module dependency");
        }
        if (IMPORT_LINE.test(line) && !TRANSPILABLE_IMPORT.test(line)) {
            report(index, "`import` line that is not a one-line named or namespace import");
        }
        if (EXPORT_LINE.test(line)) {
            exportLines.push(index);
        }
        if (RENAMED_TRANSLATION.test(line)) {
            report(index, "renamed `_t`, invisible to the translation extractor");
        }
    });
    const finalExport = exportLines.pop();
    for (const index of exportLines) {
        report(index, "export before the bundle's final `export { ... };`");
    }
    if (finalExport !== undefined) {
        if (!FINAL_EXPORT.test(lines.slice(finalExport).join("\n"))) {
            report(
                finalExport,
                "the last export must be a plain `export { ... };` ending the file",
            );
        }
        lines.forEach((line, index) => {
            if (index >= finalExport && DEFAULT_EXPORT.test(line)) {
                report(index, "default export, never read by Odoo's default imports");
            }
        });
    }
    return hazards;
}
