// Odoo's own Debian dependency list, plus what the browser tests need, installed when missing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HarnessError, say } from "./log.mjs";
import { run } from "./proc.mjs";

/**
 * Beyond debian/control: the database server, psycopg 3 (the SQL tool's connection speaks the
 * extended query protocol, which psycopg2 cannot), the browser tests' Chromium and CDP client,
 * the markdown converter of llm_thread's message_post (external_dependencies of the manifest),
 * and the knowledge sources' numpy (exact vector scoring; OpenBLAS makes its product four times
 * faster than Debian's default reference BLAS) and pdfminer (PDF text, through Odoo's
 * attachment_indexation).
 */
const EXTRA_PACKAGES = [
    "postgresql", "python3-psycopg", "chromium", "python3-websocket", "python3-markdown",
    "python3-numpy", "libopenblas0-pthread", "python3-pdfminer",
];

/**
 * The Depends of debian/control as a list of alternatives groups, e.g. [["python3-lxml-html-clean",
 * "python3-lxml"], ["python3-babel"], ...]; substitution variables and comments are dropped.
 */
export function readOdooDepends(controlText) {
    const lines = controlText.split("\n");
    const start = lines.findIndex((line) => line.startsWith("Depends:"));
    if (start < 0) return [];
    const field = [lines[start].slice("Depends:".length)];
    for (const line of lines.slice(start + 1)) {
        if (/^\S/.test(line) && !line.startsWith("#")) break; // next field
        if (!line.startsWith("#")) field.push(line);
    }
    return field
        .join(" ")
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item && !item.startsWith("${"))
        .map((item) => item.split("|").map((alt) => alt.trim().split(/\s+/)[0]));
}

function installedPackages(names) {
    const query = run("dpkg-query", ["-W", "-f=${Package} ${Status}\\n", ...names], { allowFail: true });
    return new Set(
        query.stdout
            .split("\n")
            .filter((line) => line.endsWith(" install ok installed"))
            .map((line) => line.split(" ")[0]),
    );
}

function hasCandidate(name) {
    const policy = run("apt-cache", ["policy", name], { allowFail: true }).stdout;
    const candidate = /Candidate: (\S+)/.exec(policy);
    return Boolean(candidate && candidate[1] !== "(none)");
}

/** Installs what is missing (as root), or says the exact command to run (not root). */
export function ensureDebianPackages(odooSrc) {
    const groups = [
        ...readOdooDepends(readFileSync(join(odooSrc, "debian", "control"), "utf8")),
        ...EXTRA_PACKAGES.map((name) => [name]),
    ];
    const installed = installedPackages(groups.flat());
    const missingGroups = groups.filter((alts) => !alts.some((name) => installed.has(name)));
    if (!missingGroups.length) return;

    const isRoot = process.getuid?.() === 0;
    if (isRoot) {
        say("apt-get update (to look up Odoo's Debian dependencies)...");
        run("apt-get", ["update", "-q"]);
    }
    // Of each group, the first alternative this distribution has (e.g. python3-lxml on bookworm).
    const toInstall = missingGroups.map((alts) => alts.find(hasCandidate) ?? alts[0]);
    const command = `apt-get install -y --no-install-recommends ${toInstall.join(" ")}`;
    if (!isRoot) {
        throw new HarnessError(
            `Missing Debian packages for Odoo 18: ${toInstall.join(", ")}.\n` +
                `Install them, then run this again:\n  sudo apt-get update && sudo ${command}`,
        );
    }
    say(`installing ${toInstall.length} Debian packages: ${toInstall.join(" ")}`);
    run("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${command}`]);
}
