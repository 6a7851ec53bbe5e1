// The one Node API the protocol test uses; the project does not ship @types/node.
declare module "node:child_process" {
    export function execFileSync(
        file: string,
        args: string[],
        options: { encoding: "utf8" },
    ): string;
}
