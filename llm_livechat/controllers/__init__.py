from . import channel
from . import webclient
