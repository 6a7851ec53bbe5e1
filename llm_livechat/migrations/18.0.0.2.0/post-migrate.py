"""Until this version the agent's user had no email address, so Odoo's contact form refused
to save its partner after any edit (a user's partner requires one): give the existing agents
the address a new one gets."""

from odoo import SUPERUSER_ID, api

from odoo.addons.llm_livechat.models.im_livechat_channel import agent_email


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    agents = env["im_livechat.channel"].search([("llm_agent_user_id", "!=", False)])
    for user in agents.llm_agent_user_id.filtered(lambda user: not user.email):
        user.email = agent_email(user.login)
