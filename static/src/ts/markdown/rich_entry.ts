// The lazily loaded renderer (see rich.ts): built by build.mjs into
// static/src/dist/llm_thread_rich.js, a plain script that Odoo never bundles. It defines
// `window.llmThreadRich` and nothing else.
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import css from "highlight.js/lib/languages/css";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";
import katex from "katex";

import type { RichRenderer } from "./rich";

// What answers about Odoo hold: Python, XML views, JavaScript, SQL, shell, data formats.
// Each language registers its own aliases (py, js, ts, html, sh, yml, ...).
const LANGUAGES = { bash, css, javascript, json, python, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) {
    hljs.registerLanguage(name, language);
}

// KaTeX's MathML only: browsers lay it out natively, so no KaTeX fonts or CSS are needed.
// The <semantics>/<annotation> wrapper repeating the TeX source is dropped, as the sanitiser
// would keep the annotation's text and show the formula twice.
const ANNOTATION = /<annotation\b[^>]*>[\s\S]*?<\/annotation>|<\/?semantics>/g;

const rich: RichRenderer = {
    highlight(code, language) {
        if (!hljs.getLanguage(language)) {
            return null;
        }
        return hljs.highlight(code, { language, ignoreIllegals: true }).value;
    },
    math(tex, display) {
        return katex
            .renderToString(tex, {
                displayMode: display,
                output: "mathml",
                throwOnError: false,
                // \href, \url, \includegraphics and the like: off, formulas hold no links.
                trust: false,
                maxSize: 50,
                maxExpand: 1000,
            })
            .replace(ANNOTATION, "");
    },
};

globalThis.llmThreadRich = rich;
