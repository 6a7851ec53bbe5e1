import type { ModelOption } from "./types";

/**
 * A model's name as the user tells it apart: with its provider's name when a model of another
 * provider the user may pick has the same name (OpenAI's "gpt-4o" and an OpenAI-compatible
 * server's). The model picker and the footer of an answer both show it this way.
 */
export function modelLabel(name: string, provider: string, models: readonly ModelOption[]): string {
    const ambiguous = Boolean(provider) &&
        models.some((other) => other.name === name && other.provider_name !== provider);
    return ambiguous ? `${name} (${provider})` : name;
}
