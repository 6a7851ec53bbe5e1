// Finds (or clones) the Odoo 18.0 source and tells how its addons are laid out.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DEFAULT_ODOO_SRC } from "./paths.mjs";
import { HarnessError, say } from "./log.mjs";
import { run } from "./proc.mjs";

const DEFAULT_GIT_URL = "https://github.com/odoo/odoo.git";

const HOW_TO_GET_ODOO = `Odoo 18.0 source is needed. Any one of these works:
  - set ODOO_SRC=/path/to/odoo-18.0 (a git checkout of branch 18.0, or an extracted
    18.0 nightly source archive: the folder that holds odoo-bin);
  - put that folder at ${DEFAULT_ODOO_SRC};
  - let the harness clone it: it runs
      git clone --depth 1 --branch 18.0 \${ODOO_GIT_URL:-${DEFAULT_GIT_URL}} ${DEFAULT_ODOO_SRC}
    so set ODOO_GIT_URL to a mirror you can reach when GitHub is not reachable.`;

/** @returns {{ src: string, addonsPaths: string[], layout: "git" | "nightly", revision: string }} */
export function resolveOdooSource() {
    const explicit = process.env.ODOO_SRC;
    const src = resolve(explicit || DEFAULT_ODOO_SRC);
    if (!existsSync(join(src, "odoo-bin"))) {
        if (explicit) {
            throw new HarnessError(`ODOO_SRC=${explicit} holds no odoo-bin.\n${HOW_TO_GET_ODOO}`);
        }
        cloneOdoo(src);
    }
    checkVersion(src);
    return { src, ...addonsLayout(src), revision: sourceRevision(src) };
}

function cloneOdoo(src) {
    const url = process.env.ODOO_GIT_URL || DEFAULT_GIT_URL;
    say(`Odoo source not found at ${src}: cloning branch 18.0 of ${url} (shallow)...`);
    mkdirSync(dirname(src), { recursive: true });
    const clone = run("git", ["clone", "--quiet", "--depth", "1", "--branch", "18.0", url, src], {
        allowFail: true,
    });
    if (!clone.ok) {
        throw new HarnessError(`cloning ${url} failed:\n${clone.stderr.trim()}\n\n${HOW_TO_GET_ODOO}`);
    }
}

function checkVersion(src) {
    const release = join(src, "odoo", "release.py");
    const text = existsSync(release) ? readFileSync(release, "utf8") : "";
    if (!/^version_info = \(18, 0,/m.test(text)) {
        throw new HarnessError(`${src} is not Odoo 18.0 (odoo/release.py says otherwise).\n${HOW_TO_GET_ODOO}`);
    }
}

/**
 * Git layout: standard addons in addons/, base in odoo/addons. Nightly layout: everything in
 * odoo/addons; a top-level addons/ there is a stale leftover and must stay off the path.
 */
function addonsLayout(src) {
    const nightly = join(src, "odoo", "addons");
    if (existsSync(join(nightly, "web", "__manifest__.py"))) {
        return { layout: "nightly", addonsPaths: [nightly] };
    }
    const git = join(src, "addons");
    if (existsSync(join(git, "web", "__manifest__.py"))) {
        return { layout: "git", addonsPaths: [git, nightly] };
    }
    throw new HarnessError(`${src} has no web addon in odoo/addons nor in addons.\n${HOW_TO_GET_ODOO}`);
}

/** Keys the template database: a new Odoo source gives a new template. */
function sourceRevision(src) {
    const head = run("git", ["-C", src, "rev-parse", "HEAD"], { allowFail: true });
    if (head.ok && existsSync(join(src, ".git"))) return head.stdout.trim().slice(0, 12);
    // An extracted archive: its release file and the age of its files stand for the revision.
    const hash = createHash("sha1");
    for (const file of ["odoo/release.py", "odoo/addons/mail/__manifest__.py", "odoo-bin"]) {
        const path = join(src, file);
        if (existsSync(path)) hash.update(readFileSync(path)).update(String(statSync(path).mtimeMs));
    }
    return hash.digest("hex").slice(0, 12);
}
