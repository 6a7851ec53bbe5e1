// Types for the small npm packages that ship none.

declare module "markdown-it-footnote" {
    import type MarkdownIt from "markdown-it";

    const footnote: (md: MarkdownIt) => void;
    export default footnote;
}
