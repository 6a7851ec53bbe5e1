// The bundle Odoo loads for llm_livechat (static/src/dist/llm_livechat.js, built by build.mjs).
import "./discuss/ai_handling";
