import { describe, expect, test } from "vitest";

import bundle from "../../src/dist/llm_thread.js?raw";
import { findTranspilerHazards } from "../../../build_guard.mjs";

const safeBundle = `/* banner */
import { _t } from "@web/core/l10n/translation";
import * as owl from "@odoo/owl";
// require("./commented-out")
 * require("./in-a-block-comment")
var Greeting = class extends owl.Component {
  static title = _t("Hello");
};
export {
  Greeting
};
`;

describe("findTranspilerHazards", () => {
    test("accepts the committed bundle", () => {
        expect(findTranspilerHazards(bundle)).toEqual([]);
    });

    test("accepts imports, comments and one final export clause", () => {
        expect(findTranspilerHazards(safeBundle)).toEqual([]);
    });

    test.each([
        ['var md = require("markdown-it");', "line 1: require() call read as a module dependency"],
        ["  x = `\nimport this line`;", "line 2: `import` line that is not"],
        ['import {\n  a } from "@web/a";', "line 1: `import` line that is not"],
        ['import a from "@web/a";', "line 1: `import` line that is not"],
        ["export { a };\nexport { b };", "line 1: export before the bundle's final"],
        ["export { a };\nfoo();", "line 1: the last export must be a plain"],
        ["export function a() {}", "line 1: the last export must be a plain"],
        ["export {\n  a as default\n};", "line 2: default export, never read"],
        ['static title = _t2("Hello");', "line 1: renamed `_t`, invisible"],
    ])("rejects %j", (code, hazard) => {
        expect(findTranspilerHazards(code)).toEqual([expect.stringContaining(hazard)]);
    });
});
