from . import test_install
from . import test_ui
from . import test_generate
from . import test_thread
from . import test_provider_streams
from . import test_provider_contract
from . import test_provider_models
from . import test_chat_ui
