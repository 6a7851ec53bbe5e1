from . import webclient
