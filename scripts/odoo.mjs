#!/usr/bin/env node
// The Odoo tier: `node scripts/odoo.mjs test` and `node scripts/odoo.mjs start` (see --help).
import { writeFileSync } from "node:fs";
import { OdooEnvironment, freePort } from "./lib/odoo.mjs";
import { OdooLogReport } from "./lib/odoo_log.mjs";
import { HarnessError, say } from "./lib/log.mjs";
import { stopChildren } from "./lib/proc.mjs";
import { join } from "node:path";
import { ADDON_DIR, ADDON_NAME, MODULES } from "./lib/paths.mjs";

const HELP = `Usage:
  node scripts/odoo.mjs test [--test-tags TAGS] [--keep-db] [--summary FILE] [--quiet]
      Copies the template database, installs ${MODULES.join(", ")} with their tests, runs
      them (Python tests, Hoot tests, tours) in one Odoo run, prints "N passed, N failed".
      --test-tags  Odoo test tags (default ${MODULES.map((name) => `/${name}`).join(",")}),
                   e.g. /${ADDON_NAME}:TestProviders
      --keep-db    keep the test database afterwards (its name is printed)
      --summary    write the counts as JSON to FILE (used by npm test)
      --quiet      print only WARNING/ERROR lines and results instead of the whole log
  node scripts/odoo.mjs i18n
      Exports each module's i18n/<module>.pot from a fresh database with them installed.
  node scripts/odoo.mjs start
      Serves Odoo 18 with ${MODULES.join(", ")} installed and demo data at http://localhost:8069
      (admin / admin). Database: $LLM_THREAD_DB (default ${ADDON_NAME}); port:
      $LLM_THREAD_HTTP_PORT (default 8069). OPENAI_API_KEY, ANTHROPIC_API_KEY or OLLAMA_HOST,
      when set, configure the matching provider.
Environment: ODOO_SRC, ODOO_GIT_URL, LLM_THREAD_CACHE, LLM_THREAD_PG_PORT (see README).`;

function parseArgs(argv) {
    const options = { command: argv[0], testTags: MODULES.map((name) => `/${name}`).join(","), keepDb: false, summary: null, quiet: false };
    for (let i = 1; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--test-tags") options.testTags = argv[++i];
        else if (arg.startsWith("--test-tags=")) options.testTags = arg.slice("--test-tags=".length);
        else if (arg === "--keep-db") options.keepDb = true;
        else if (arg === "--summary") options.summary = argv[++i];
        else if (arg === "--quiet") options.quiet = true;
        else throw new HarnessError(`unknown argument ${arg}\n\n${HELP}`);
    }
    return options;
}

// Installed in test databases only, for the tests that need them: Odoo's automation rules
// run the "Run Assistant" action (tests/test_automation.py); with CRM, the live chat agent
// turns a visitor's email into a lead (llm_livechat/tests). The addons do not depend on them.
// They live in a template of their own (built once per Odoo revision, from the shared one),
// so a test run does not install them (CRM alone took 12 s a run here).
const TEST_MODULES = ["base_automation", "crm_livechat"];

async function test(env, options) {
    const template = await env.ensureTemplate(TEST_MODULES);
    const db = `${ADDON_NAME}_test_${process.pid}`;
    env.copyDatabase(template, db);
    const report = new OdooLogReport();
    // --quiet keeps what explains a result: problems with their tracebacks, results, Hoot's report.
    let inProblem = false;
    const shouldPrint = (line) => {
        if (!options.quiet) return true;
        if (!/^\d{4}-\d\d-\d\d /.test(line)) return inProblem; // continuation of the last record
        inProblem = / (WARNING|ERROR|CRITICAL) /.test(line);
        return inProblem || /odoo\.tests\.result|\[HOOT\]|post-tests in/.test(line);
    };
    try {
        say(`running the Odoo tier on ${db} (tags ${options.testTags})`);
        const { code, logPath } = await env.runOdoo(db, [
            `--init=${MODULES.join(",")}`, "--test-enable", `--test-tags=${options.testTags}`,
            "--stop-after-init", "--max-cron-threads=0", "--log-level=info",
            `--http-port=${await freePort()}`, `--gevent-port=${await freePort()}`,
        ], {
            logName: db,
            onLine: (line) => {
                report.add(line);
                if (shouldPrint(line)) process.stdout.write(`${line}\n`);
            },
        });
        const summary = report.summary();
        if (code !== 0 && !summary.failed && !summary.problems.length) {
            summary.problems.push(`odoo-bin exited with ${code}`);
        }
        for (const problem of summary.problems) say(`FAILED: ${problem}`);
        say(`full log: ${logPath}`);
        // Each problem (skipped test, unexpected log line, no result) fails a check of its own,
        // unless failed tests already explain the run's failure.
        const failed = summary.failed + (summary.failed ? 0 : summary.problems.length);
        const counts = { passed: summary.passed, failed, hoot: report.hoot };
        if (options.summary) writeFileSync(options.summary, JSON.stringify(counts));
        console.log(`odoo: ${counts.passed} passed, ${counts.failed} failed`);
        return failed ? 1 : 0;
    } finally {
        if (options.keepDb) say(`kept database ${db}`);
        else env.dropDatabase(db);
    }
}

/** Each module's i18n/<module>.pot, exported by the real server from a fresh database. */
async function exportTranslations(env) {
    const template = await env.ensureTemplate();
    const db = `${ADDON_NAME}_i18n_${process.pid}`;
    env.copyDatabase(template, db);
    try {
        // --i18n-export exports before any module is installed in the same run: install first.
        const steps = [[`--init=${MODULES.join(",")}`]];
        for (const module of MODULES) {
            const dir = module === ADDON_NAME ? ADDON_DIR : join(ADDON_DIR, module);
            steps.push([`--modules=${module}`, `--i18n-export=${join(dir, "i18n", `${module}.pot`)}`]);
        }
        for (const step of steps) {
            const { code, logPath } = await env.runOdoo(db, [
                ...step, "--stop-after-init", "--max-cron-threads=0", "--log-level=warn",
                `--http-port=${await freePort()}`,
            ], { logName: db });
            if (code !== 0) throw new HarnessError(`exporting translations failed; see ${logPath}`);
        }
        say(`wrote ${MODULES.map((module) => `${module}.pot`).join(", ")}`);
        return 0;
    } finally {
        env.dropDatabase(db);
    }
}

async function serve(env) {
    const template = await env.ensureTemplate();
    const db = process.env.LLM_THREAD_DB || ADDON_NAME;
    const port = Number(process.env.LLM_THREAD_HTTP_PORT || 8069);
    const fresh = !env.hasDatabase(db);
    if (fresh) env.copyDatabase(template, db);
    say(`${fresh ? "installing" : "updating"} ${MODULES.join(", ")} in database ${db}`);
    const install = await env.runOdoo(db, [
        `--${fresh ? "init" : "update"}=${MODULES.join(",")}`, "--stop-after-init", "--max-cron-threads=0",
        `--http-port=${await freePort()}`,
    ], { logName: `${db}-install`, onLine: (line) => process.stdout.write(`${line}\n`) });
    if (install.code !== 0) throw new HarnessError(`installing ${MODULES.join(", ")} failed; see ${install.logPath}`);
    configureProviders(env, db);

    let announced = false;
    const url = `http://localhost:${port}`;
    const { code } = await env.runOdoo(db, [`--http-port=${port}`], {
        logName: `${db}-server`,
        onLine: (line) => {
            process.stdout.write(`${line}\n`);
            if (!announced && / odoo\.service\.server: HTTP service \(werkzeug\) running/.test(line)) {
                announced = true;
                waitForHealth(url).then(() => say(`ready: ${url}  (login admin, password admin)`));
            }
        },
    });
    return code;
}

/** OPENAI_API_KEY / ANTHROPIC_API_KEY / OLLAMA_HOST become configured providers. */
function configureProviders(env, db) {
    const names = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_HOST"].filter((name) => process.env[name]);
    if (!names.length) return;
    say(`configuring providers from ${names.join(", ")}`);
    env.runShell(db, [
        "import os",
        "env['llm.provider']._configure_from_environment(dict(os.environ))",
        "env.cr.commit()",
    ].join("\n"));
}

async function waitForHealth(url) {
    for (let attempt = 0; attempt < 120; attempt++) {
        try {
            const response = await fetch(`${url}/web/health`);
            if (response.ok) return;
        } catch {
            // not listening yet
        }
        await new Promise((resolveLater) => setTimeout(resolveLater, 500));
    }
}

async function main() {
    const options = parseArgs(process.argv.slice(2));
    const commands = { test: (env) => test(env, options), start: serve, i18n: exportTranslations };
    if (!commands[options.command]) {
        console.log(HELP);
        return options.command === "--help" || options.command === "-h" ? 0 : 2;
    }
    const env = OdooEnvironment.open();
    const stop = async () => {
        await stopChildren(); // Odoo first: it must not outlive the database it uses
        env.close();
        process.exit(130);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
        return await commands[options.command](env);
    } finally {
        env.close();
    }
}

main().then(
    (code) => process.exit(code),
    (error) => {
        if (error instanceof HarnessError) say(`ERROR: ${error.message}`);
        else console.error(error);
        process.exit(1);
    },
);
