from . import mail_message
from . import llm_thread
from . import llm_thread_ui
from . import llm_provider
from . import llm_model
from . import llm_usage
from . import llm_budget
