from . import test_livechat_agent
from . import test_livechat_browser
from . import test_livechat_french
