from . import test_livechat_agent
