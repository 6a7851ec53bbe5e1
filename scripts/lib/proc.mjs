// Small wrappers over child_process so every caller reports failures the same way.
import { spawn, spawnSync } from "node:child_process";
import { HarnessError } from "./log.mjs";

/** Run to completion, capture output; throws a HarnessError naming the command on failure. */
export function run(cmd, args, { input, env, allowFail = false, cwd } = {}) {
    const result = spawnSync(cmd, args, {
        encoding: "utf8",
        input,
        cwd,
        env: env ? { ...process.env, ...env } : process.env,
        maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) {
        if (allowFail) return { ok: false, stdout: "", stderr: String(result.error), status: -1 };
        throw new HarnessError(`could not run ${cmd}: ${result.error.message}`);
    }
    const ok = result.status === 0;
    if (!ok && !allowFail) {
        const output = `${result.stdout || ""}${result.stderr || ""}`.trim();
        throw new HarnessError(`${cmd} ${args.join(" ")} failed (exit ${result.status}):\n${output}`);
    }
    return { ok, stdout: result.stdout || "", stderr: result.stderr || "", status: result.status };
}

/** Whether an executable answers (used to probe tools without failing). */
export function commandExists(cmd) {
    return run("sh", ["-c", `command -v ${cmd}`], { allowFail: true }).ok;
}

/** Children still running, so that a signal to the harness stops them before it exits. */
const liveChildren = new Set();

/** Sends SIGTERM to every running child and waits until they have all exited. */
export async function stopChildren() {
    const exits = [...liveChildren].map(({ child, exited }) => {
        child.kill("SIGTERM");
        return exited.catch(() => undefined);
    });
    await Promise.all(exits);
}

/**
 * Start a long-running child; its output lines go to ``onLine``. Resolves with the exit code.
 * Returns the child too, so the caller can stop it.
 */
export function start(cmd, args, { onLine, env, cwd } = {}) {
    const child = spawn(cmd, args, {
        cwd,
        env: env ? { ...process.env, ...env } : process.env,
        stdio: ["ignore", "pipe", "pipe"],
    });
    const forward = (stream) => {
        let pending = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk) => {
            pending += chunk;
            const lines = pending.split("\n");
            pending = lines.pop();
            for (const line of lines) onLine?.(line);
        });
        stream.on("end", () => pending && onLine?.(pending));
    };
    forward(child.stdout);
    forward(child.stderr);
    const exited = new Promise((resolveExit, rejectExit) => {
        child.on("error", rejectExit);
        child.on("close", (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
    });
    const handle = { child, exited };
    liveChildren.add(handle);
    exited.finally(() => liveChildren.delete(handle)).catch(() => undefined);
    return handle;
}
