// A private PostgreSQL cluster owned by the harness: its own data dir, socket and port.
// The system cluster (if any) is never touched.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DIR } from "./paths.mjs";
import { HarnessError, say } from "./log.mjs";
import { run } from "./proc.mjs";

export const DB_USER = "odoo"; // Odoo refuses to run as the "postgres" role.
const PORT = Number(process.env.LLM_THREAD_PG_PORT || 54329);
const SETUP_LOCK = 0x4c4c5352; // "LLSR": advisory-lock key serialising cluster-wide setup
// How long a harness process whose start of the cluster failed waits for another one's.
const START_WAIT_MS = 30_000;
const IS_ROOT = process.getuid?.() === 0;
// PostgreSQL never runs as root: as root, the cluster runs as Debian's "postgres" account.
const OS_USER = IS_ROOT ? "postgres" : null;

function binDir() {
    const base = "/usr/lib/postgresql";
    const versions = existsSync(base)
        ? readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb")))
        : [];
    if (!versions.length) {
        throw new HarnessError("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (package postgresql).");
    }
    versions.sort((a, b) => Number(b) - Number(a));
    return join(base, versions[0], "bin");
}

/**
 * Where the cluster lives: under the cache dir, unless we are root and the "postgres" account
 * cannot reach it (root's home is private), then under /var/tmp.
 */
function clusterRoot() {
    if (process.env.LLM_THREAD_PGROOT) return process.env.LLM_THREAD_PGROOT;
    const inCache = join(CACHE_DIR, "postgres");
    if (!IS_ROOT) return inCache;
    mkdirSync(CACHE_DIR, { recursive: true });
    const reachable = run("runuser", ["-u", OS_USER, "--", "test", "-x", CACHE_DIR], { allowFail: true }).ok;
    return reachable ? inCache : join("/var/tmp", "llm_thread-postgres");
}

function asClusterOwner(cmd, args, options) {
    return OS_USER ? run("runuser", ["-u", OS_USER, "--", cmd, ...args], options) : run(cmd, args, options);
}

export class Cluster {
    constructor() {
        this.bin = binDir();
        this.root = clusterRoot();
        this.data = join(this.root, "data");
        this.socketDir = join(this.root, "run");
        this.users = join(this.root, "users"); // one file per harness process using the cluster
        this.port = PORT;
    }

    /** Connection settings for Odoo and for psql-like clients. */
    get odooArgs() {
        return [`--db_host=${this.socketDir}`, `--db_port=${this.port}`, `--db_user=${DB_USER}`];
    }

    ensureInitialised() {
        if (existsSync(join(this.data, "PG_VERSION"))) return;
        say(`creating a private PostgreSQL cluster in ${this.data}`);
        for (const dir of [this.root, this.socketDir, this.users]) mkdirSync(dir, { recursive: true });
        if (OS_USER) run("chown", ["-R", `${OS_USER}:`, this.root]);
        chmodSync(this.users, 0o777);
        asClusterOwner(join(this.bin, "initdb"), [
            "-D", this.data, "-U", DB_USER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
        ]);
        // A throwaway development and test cluster: durability is traded for speed.
        writeFileSync(join(this.data, "postgresql.auto.conf"), [
            "listen_addresses = ''",
            `unix_socket_directories = '${this.socketDir}'`,
            `port = ${this.port}`,
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 200",
            "",
        ].join("\n"));
        if (OS_USER) run("chown", [`${OS_USER}:`, join(this.data, "postgresql.auto.conf")]);
    }

    /**
     * Registers this process as one of the cluster's users and starts the cluster if needed.
     * Registered first, so that a harness process ending meanwhile does not stop it; two
     * started at once (`npm start` and `npm test`) both try to start it, and the one whose
     * start fails waits for the other's server instead of failing.
     */
    acquire() {
        this.ensureInitialised();
        writeFileSync(join(this.users, String(process.pid)), "");
        if (this.isReady()) return;
        say(`starting PostgreSQL on ${this.socketDir} port ${this.port}`);
        const started = asClusterOwner(join(this.bin, "pg_ctl"), [
            "start", "-w", "-D", this.data, "-l", join(this.root, "postgresql.log"),
        ], { allowFail: true });
        if (started.ok || this.waitReady(START_WAIT_MS)) return;
        const tail = existsSync(join(this.root, "postgresql.log"))
            ? readFileSync(join(this.root, "postgresql.log"), "utf8").split("\n").slice(-15).join("\n")
            : "";
        throw new HarnessError(`PostgreSQL did not start (port ${this.port} taken? set LLM_THREAD_PG_PORT):\n${started.stderr}\n${tail}`);
    }

    /** Whether the cluster accepts connections. */
    isReady() {
        return run(join(this.bin, "pg_isready"), ["-q", "-h", this.socketDir, "-p", String(this.port)],
            { allowFail: true }).ok;
    }

    /** Waits up to ``ms`` for the cluster to accept connections; whether it does. */
    waitReady(ms) {
        const deadline = Date.now() + ms;
        while (Date.now() < deadline) {
            if (this.isReady()) return true;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        }
        return false;
    }

    /** Stops the cluster when no other live harness process still uses it. */
    release() {
        rmSync(join(this.users, String(process.pid)), { force: true });
        const others = readdirSync(this.users).filter((pid) => isAlive(Number(pid)));
        if (others.length) return;
        asClusterOwner(join(this.bin, "pg_ctl"), ["stop", "-m", "fast", "-D", this.data], { allowFail: true });
    }

    /** psql as the superuser on ``db``, stopping at the first error; ``args`` say what to run. */
    runPsql(db, args) {
        return run(join(this.bin, "psql"), [
            "-h", this.socketDir, "-p", String(this.port), "-U", DB_USER, "-d", db, "-v", "ON_ERROR_STOP=1", "-At", ...args,
        ]);
    }

    /**
     * Runs an SQL file, one harness process at a time (concurrent CREATE/ALTER ROLE fail with
     * "tuple concurrently updated"): the session lock lasts as long as this psql.
     */
    psqlFile(path, db = "postgres") {
        this.runPsql(db, ["-q", "-c", `SELECT pg_advisory_lock(${SETUP_LOCK})`, "-f", path]);
    }

    psql(sql, db = "postgres") {
        return this.runPsql(db, ["-c", sql]).stdout.trim();
    }

    databases() {
        return this.psql("SELECT datname FROM pg_database WHERE NOT datistemplate").split("\n").filter(Boolean);
    }

    createFrom(template, name) {
        this.psql(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    }

    drop(name) {
        this.psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }

    rename(from, to) {
        this.psql(`ALTER DATABASE "${from}" RENAME TO "${to}"`);
    }
}

function isAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}
