// Everything needed to run Odoo 18 with this addon: source, packages, cluster, template, command.
import {
    cpSync, existsSync, mkdirSync, rmSync, symlinkSync, readlinkSync, createWriteStream, readFileSync, writeFileSync, renameSync,
} from "node:fs";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { ADDON_DIR, ADDON_NAME, COMPANION_ADDONS, CACHE_DIR, ODOO_DATA_DIR, PYTHON, LOG_DIR } from "./paths.mjs";
import { resolveOdooSource } from "./odoo_source.mjs";
import { ensureDebianPackages } from "./debian.mjs";
import { Cluster } from "./postgres.mjs";
import { HarnessError, say } from "./log.mjs";
import { run, start } from "./proc.mjs";

/** Modules every database of ours starts from; installing them is the slow part (~35 s). */
const TEMPLATE_MODULES = ["mail"];

export class OdooEnvironment {
    /** Provisions source, Debian packages and the cluster; call ``close()`` when done. */
    static open() {
        const source = resolveOdooSource();
        ensureDebianPackages(source.src);
        const cluster = new Cluster();
        cluster.acquire();
        // The SQL tool's role (README, "sql_query"), as an administrator creates it in production.
        cluster.psqlFile(join(ADDON_DIR, "security", "llm_sql_reader.sql"));
        return new OdooEnvironment(source, cluster);
    }

    constructor(source, cluster) {
        this.source = source;
        this.cluster = cluster;
        this.addonsPath = [...source.addonsPaths, exposeCheckout()].join(",");
        this.configFile = writeOdooConfig();
    }

    close() {
        this.cluster.release();
    }

    /** The argument list of odoo-bin [command] for ``db``: connection, paths, then ``extra``. */
    odooArgs(db, extra = [], command = null) {
        return [
            join(this.source.src, "odoo-bin"),
            ...(command ? [command] : []),
            `--config=${this.configFile}`,
            `--addons-path=${this.addonsPath}`,
            ...this.cluster.odooArgs,
            `--data-dir=${ODOO_DATA_DIR}`,
            `--database=${db}`,
            `--db-filter=^${db}$`,
            ...extra,
        ];
    }

    /** Runs odoo-bin to completion; every output line goes to the log file and to ``onLine``. */
    async runOdoo(db, extra, { onLine, logName } = {}) {
        mkdirSync(LOG_DIR, { recursive: true });
        const logPath = join(LOG_DIR, `${logName || db}.log`);
        const log = createWriteStream(logPath);
        const { exited } = start(PYTHON, this.odooArgs(db, extra), {
            onLine: (line) => {
                log.write(`${line}\n`);
                onLine?.(line);
            },
        });
        const code = await exited;
        await new Promise((resolveEnd) => log.end(resolveEnd));
        return { code, logPath };
    }

    /** Runs a Python script in ``odoo-bin shell`` on ``db`` (``env`` is defined there). */
    runShell(db, script) {
        const result = run(PYTHON, this.odooArgs(db, ["--no-http"], "shell"), { input: script, allowFail: true });
        if (!result.ok) {
            throw new HarnessError(`odoo-bin shell on ${db} failed:\n${result.stdout}${result.stderr}`);
        }
        return result.stdout;
    }

    /**
     * The template database with mail installed, keyed by the Odoo revision: built once
     * (under a temporary name, renamed when complete), then every database is a copy of it.
     * With ``modules``: a template of its own with them installed too, copied from that one
     * and built once as well (test databases start from it: see TEST_MODULES in odoo.mjs).
     */
    async ensureTemplate(modules = []) {
        const base = `llm_thread_tpl_${this.source.revision}`;
        if (modules.length) {
            const key = createHash("sha1").update(modules.join(",")).digest("hex").slice(0, 8);
            const name = `${base}_${key}`;
            if (this.cluster.databases().includes(name)) return name;
            return this.buildTemplate(name, modules, await this.ensureTemplate());
        }
        const existing = this.cluster.databases();
        if (existing.includes(base)) return base;
        for (const stale of existing.filter((db) => db.startsWith("llm_thread_tpl_"))) {
            this.dropDatabase(stale);
        }
        return this.buildTemplate(base, TEMPLATE_MODULES, null);
    }

    /** Builds the template ``name``: ``modules`` installed in a new database or a copy of ``from``. */
    async buildTemplate(name, modules, from) {
        // One name per builder: test runs started together may build the same template.
        const building = `${name}_building_${process.pid}`;
        if (from) this.copyDatabase(from, building);
        say(`building the template database ${name} (${from ? `${from} + ` : "Odoo + "}${modules.join(", ")}, about a minute, once per Odoo revision)`);
        const { code, logPath } = await this.runOdoo(building, [
            `--init=${modules.join(",")}`, "--stop-after-init", "--max-cron-threads=0",
            "--log-level=warn", `--http-port=${await freePort()}`,
        ], { logName: "template" });
        if (code !== 0) {
            this.dropDatabase(building);
            throw new HarnessError(`building the template database failed (exit ${code}); see ${logPath}`);
        }
        if (this.hasDatabase(name)) { // another run built it meanwhile
            this.dropDatabase(building);
            return name;
        }
        this.cluster.rename(building, name);
        const filestore = join(ODOO_DATA_DIR, "filestore");
        if (existsSync(join(filestore, building))) {
            rmSync(join(filestore, name), { recursive: true, force: true });
            cpSync(join(filestore, building), join(filestore, name), { recursive: true });
            rmSync(join(filestore, building), { recursive: true, force: true });
        }
        return name;
    }

    /** A new database copied from the template, with its filestore (attachments, assets). */
    copyDatabase(template, db) {
        this.cluster.createFrom(template, db);
        const filestore = join(ODOO_DATA_DIR, "filestore");
        if (existsSync(join(filestore, template))) {
            cpSync(join(filestore, template), join(filestore, db), { recursive: true });
        }
    }

    dropDatabase(db) {
        this.cluster.drop(db);
        rmSync(join(ODOO_DATA_DIR, "filestore", db), { recursive: true, force: true });
    }

    hasDatabase(db) {
        return this.cluster.databases().includes(db);
    }
}

/**
 * The options odoo-bin only reads from a configuration file: the SQL tool's role (trusted by the
 * private cluster, so no password). Replaced in one step, and only when it changes: other harness
 * processes may be reading it.
 */
function writeOdooConfig() {
    const path = join(CACHE_DIR, "odoo.conf");
    const text = "[options]\nllm_sql_user = llm_sql_reader\n";
    if (!existsSync(path) || readFileSync(path, "utf8") !== text) {
        mkdirSync(CACHE_DIR, { recursive: true });
        writeFileSync(`${path}.${process.pid}`, text);
        renameSync(`${path}.${process.pid}`, path);
    }
    return path;
}

/**
 * Odoo finds modules by directory name; the checkout may be called anything, so it is exposed
 * as ``llm_thread`` through a symlink in an addons dir of its own (one per checkout), beside a
 * symlink per companion addon (a folder of the checkout, e.g. ``llm_livechat``).
 */
function exposeCheckout() {
    const key = createHash("sha1").update(ADDON_DIR).digest("hex").slice(0, 10);
    const addonsDir = join(CACHE_DIR, "addons", key);
    mkdirSync(addonsDir, { recursive: true });
    exposeAs(join(addonsDir, ADDON_NAME), ADDON_DIR);
    for (const companion of COMPANION_ADDONS) {
        exposeAs(join(addonsDir, companion), join(ADDON_DIR, companion));
    }
    return addonsDir;
}

function exposeAs(link, target) {
    let current = null;
    try {
        current = readlinkSync(link);
    } catch {
        // no link yet
    }
    if (current !== target) {
        rmSync(link, { force: true });
        symlinkSync(target, link, "dir");
    }
}

export function freePort() {
    return new Promise((resolvePort, rejectPort) => {
        const server = createServer();
        server.unref();
        server.on("error", rejectPort);
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address();
            server.close(() => resolvePort(port));
        });
    });
}

/**
 * Runs the Python script `script` (a path in the addon) against a fresh database with
 * `modules` installed (the addon by default), made from the template and dropped afterwards: the benchmarks and the
 * multi-server tests, which start Odoo servers of their own. The script gets the odoo-bin
 * command line, the database and its PostgreSQL access as JSON, then `args`; resolves to its
 * exit code.
 */
export async function runWithAddonDatabase(label, script, args, modules = [ADDON_NAME]) {
    const env = OdooEnvironment.open();
    const db = `${ADDON_NAME}_${label}_${process.pid}`;
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
        const child = spawn(PYTHON, [join(ADDON_DIR, script), JSON.stringify(config), ...args],
            { stdio: "inherit" });
        return await new Promise((resolveCode) => child.on("exit", (c) => resolveCode(c ?? 1)));
    } finally {
        env.dropDatabase(db);
        env.close();
    }
}
