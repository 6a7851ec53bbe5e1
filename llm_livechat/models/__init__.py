from . import mail_message
from . import llm_tool
from . import llm_knowledge_source
from . import im_livechat_channel
from . import discuss_channel
from . import discuss_channel_member
from . import llm_thread
from . import llm_livechat_report
