{
    "name": "LLM Live Chat Agent",
    "summary": "An AI agent answers website visitors in Odoo's live chat and hands over to operators",
    "version": "18.0.0.1.0",
    "category": "Website/Live Chat",
    "license": "LGPL-3",
    "author": "llm_thread contributors",
    "depends": ["llm_thread", "im_livechat"],
    "data": [
        "security/llm_livechat_security.xml",
        "security/ir.model.access.csv",
        "data/llm_livechat_data.xml",
        "views/im_livechat_channel_views.xml",
        "views/discuss_channel_views.xml",
        "views/llm_tool_views.xml",
        "views/llm_livechat_report_views.xml",
    ],
    "demo": ["demo/llm_livechat_demo.xml"],
    "assets": {
        "web.assets_tests": [
            "llm_livechat/static/tests/tours/**/*.js",
        ],
    },
    # Installed by itself wherever both the LLM addon and the live chat are.
    "auto_install": True,
    "installable": True,
}
