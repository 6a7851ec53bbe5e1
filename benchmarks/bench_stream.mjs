// Runs benchmarks/bench_stream.py against a fresh database made by the test harness: copies
// the template, installs llm_thread, hands the odoo-bin command line to the Python script
// (which starts the servers and prints the figures), then drops the database.
//
//   node benchmarks/bench_stream.mjs [bench_stream.py options, e.g. --streams 50,100,200]
import { spawn } from "node:child_process";
import { join } from "node:path";

import { HarnessError, say } from "../scripts/lib/log.mjs";
import { OdooEnvironment, freePort } from "../scripts/lib/odoo.mjs";
import { ADDON_DIR, ADDON_NAME, PYTHON } from "../scripts/lib/paths.mjs";

const env = OdooEnvironment.open();
const db = `${ADDON_NAME}_bench_${process.pid}`;
let code = 1;
try {
    env.copyDatabase(await env.ensureTemplate(), db);
    say(`installing ${ADDON_NAME} in ${db}`);
    const install = await env.runOdoo(db, [
        `--init=${ADDON_NAME}`, "--stop-after-init", "--max-cron-threads=0", "--log-level=warn",
        `--http-port=${await freePort()}`,
    ], { logName: db });
    if (install.code !== 0) throw new HarnessError(`installing failed; see ${install.logPath}`);
    const config = {
        odoo: [PYTHON, ...env.odooArgs(db, ["--max-cron-threads=0", "--log-level=warn"])],
        db,
        pg: { host: env.cluster.socketDir, port: env.cluster.port, user: "odoo" },
    };
    const child = spawn(PYTHON, [join(ADDON_DIR, "benchmarks", "bench_stream.py"),
        JSON.stringify(config), ...process.argv.slice(2)], { stdio: "inherit" });
    code = await new Promise((resolveCode) => child.on("exit", (c) => resolveCode(c ?? 1)));
} catch (error) {
    console.error(error instanceof HarnessError ? error.message : error);
} finally {
    env.dropDatabase(db);
    env.close();
}
process.exit(code);
