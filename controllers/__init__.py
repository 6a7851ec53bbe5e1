from . import main
from . import html_editor
