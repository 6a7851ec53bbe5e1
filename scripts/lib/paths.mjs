// Where the harness keeps what it provisions: one cache dir per machine user, never the repo.
import { homedir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ADDON_NAME = "llm_thread";

/** Companion addons kept in folders of the checkout (each its own module, e.g. llm_livechat). */
export const COMPANION_ADDONS = ["llm_livechat"];

/** What the harness installs and tests: the addon and its companions. */
export const MODULES = [ADDON_NAME, ...COMPANION_ADDONS];

/** The checkout (this repository is the addon itself, whatever its directory is called). */
export const ADDON_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const CACHE_DIR = process.env.LLM_THREAD_CACHE
    ? resolve(process.env.LLM_THREAD_CACHE)
    : join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), ADDON_NAME);

export const DEFAULT_ODOO_SRC = join(CACHE_DIR, "odoo-18.0");
export const ODOO_DATA_DIR = join(CACHE_DIR, "odoo-data");
export const LOG_DIR = join(CACHE_DIR, "logs");

/** Debian's interpreter: it is the one that sees Debian's python3-* packages Odoo needs. */
export const PYTHON = process.env.LLM_THREAD_PYTHON || "/usr/bin/python3";
