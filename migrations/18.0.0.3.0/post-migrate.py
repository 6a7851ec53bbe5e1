"""Tools are now sent only to models marked Tools. Until this version the flag defaulted to off
and did not decide anything, so models added by hand (or by ``npm start``) kept it off while
they called tools: mark those whose API id is of a family known to call tools (or read
images), as a new model is marked. Models of other names keep their flags; the chat's header
tells their users that tools are off, and an LLM manager marks them on the model's form."""

from odoo.addons.llm_thread.providers import known_capabilities


def migrate(cr, version):
    cr.execute("SELECT id, api_id, supports_tools, supports_vision FROM llm_model")
    for model_id, api_id, tools, vision in cr.fetchall():
        known = known_capabilities(api_id or "")
        if ("tools" in known and not tools) or ("vision" in known and not vision):
            cr.execute(
                "UPDATE llm_model SET supports_tools = supports_tools OR %s,"
                " supports_vision = supports_vision OR %s WHERE id = %s",
                ("tools" in known, "vision" in known, model_id))
