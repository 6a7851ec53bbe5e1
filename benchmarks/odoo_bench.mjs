// Runs a Python benchmark of benchmarks/ against a fresh database made by the test harness:
// copies the template, installs the given modules, hands the odoo-bin command line to the
// script (which starts the servers and prints the figures), then drops the database.
import { spawn } from "node:child_process";
import { join } from "node:path";

import { HarnessError, say } from "../scripts/lib/log.mjs";
import { OdooEnvironment, freePort } from "../scripts/lib/odoo.mjs";
import { ADDON_DIR, ADDON_NAME, PYTHON } from "../scripts/lib/paths.mjs";

/** Runs ``benchmarks/<script>`` with ``args`` on a database with ``modules``; exits with its code. */
export async function runBenchmark(script, modules, args) {
    const env = OdooEnvironment.open();
    const db = `${ADDON_NAME}_bench_${process.pid}`;
    let code = 1;
    try {
        env.copyDatabase(await env.ensureTemplate(), db);
        say(`installing ${modules.join(", ")} in ${db}`);
        const install = await env.runOdoo(db, [
            `--init=${modules.join(",")}`, "--stop-after-init", "--max-cron-threads=0", "--log-level=warn",
            `--http-port=${await freePort()}`,
        ], { logName: db });
        if (install.code !== 0) throw new HarnessError(`installing failed; see ${install.logPath}`);
        const config = {
            odoo: [PYTHON, ...env.odooArgs(db, ["--max-cron-threads=0", "--log-level=warn"])],
            db,
            pg: { host: env.cluster.socketDir, port: env.cluster.port, user: "odoo" },
        };
        const child = spawn(PYTHON, [join(ADDON_DIR, "benchmarks", script),
            JSON.stringify(config), ...args], { stdio: "inherit" });
        code = await new Promise((resolveCode) => child.on("exit", (c) => resolveCode(c ?? 1)));
    } catch (error) {
        console.error(error instanceof HarnessError ? error.message : error);
    } finally {
        env.dropDatabase(db);
        env.close();
    }
    process.exit(code);
}
