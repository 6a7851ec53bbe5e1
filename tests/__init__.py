from . import test_install
from . import test_ui
from . import test_generate
from . import test_thread
