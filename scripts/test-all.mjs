#!/usr/bin/env node
// `npm test`: type-check, vitest, the Odoo tier, then the multi-server tier; ends with one "N passed, N failed" line
// summing every tier, and exits non-zero if anything failed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADDON_DIR } from "./lib/paths.mjs";

const work = mkdtempSync(join(tmpdir(), "llm_thread_test_"));
const tiers = [];

/** Runs a step with inherited output; returns whether it exited 0. */
function step(title, cmd, args) {
    console.log(`\n=== ${title}`);
    const { status } = spawnSync(cmd, args, { cwd: ADDON_DIR, stdio: "inherit" });
    return status === 0;
}

function readJson(path) {
    return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : null;
}

// The two commands do all the set-up: npm test installs the locked npm packages when they are
// missing or older than package-lock.json (CI has already run npm ci: nothing to do then).
const installed = join(ADDON_DIR, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(join(ADDON_DIR, "package-lock.json")).mtimeMs) {
    if (!step("npm ci (the locked TypeScript toolchain)", "npm", ["ci", "--no-audit", "--no-fund"])) {
        console.log("npm ci failed: see above.\n0 passed, 1 failed");
        process.exit(1);
    }
}

const typecheckOk = step("typecheck (tsc --noEmit)", "npx", ["tsc", "--noEmit"]);
tiers.push({ name: "typecheck", passed: typecheckOk ? 1 : 0, failed: typecheckOk ? 0 : 1 });

const vitestJson = join(work, "vitest.json");
const vitestOk = step("vitest", "npx", [
    "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`,
]);
const vitest = readJson(vitestJson);
tiers.push({
    name: "vitest",
    passed: vitest?.numPassedTests ?? 0,
    // A crash before any result still counts as a failure.
    failed: vitest ? vitest.numFailedTests + (vitestOk ? 0 : vitest.numFailedTests ? 0 : 1) : 1,
});

const odooJson = join(work, "odoo.json");
step("Odoo tier (Python tests, Hoot tests, tours) on Odoo 18", "node", [
    "scripts/odoo.mjs", "test", "--quiet", "--summary", odooJson,
]);
const odoo = readJson(odooJson);
tiers.push({ name: "odoo", passed: odoo?.passed ?? 0, failed: odoo ? odoo.failed : 1, hoot: odoo?.hoot });
const processesJson = join(work, "processes.json");
step("Multi-server tier (two Odoo servers on one database, a server killed)", "node", [
    "scripts/test-processes.mjs", "--summary", processesJson,
]);
const processes = readJson(processesJson);
tiers.push({ name: "processes", passed: processes?.passed ?? 0, failed: processes ? processes.failed : 1 });
rmSync(work, { recursive: true, force: true });

console.log("\n=== summary");
for (const tier of tiers) {
    const hoot = tier.hoot ? ` (of which Hoot: ${tier.hoot.passed} passed, ${tier.hoot.failed} failed)` : "";
    console.log(`  ${tier.name}: ${tier.passed} passed, ${tier.failed} failed${hoot}`);
}
const passed = tiers.reduce((sum, tier) => sum + tier.passed, 0);
const failed = tiers.reduce((sum, tier) => sum + tier.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
