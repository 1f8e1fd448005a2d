"""The command line, one module per command: each holds its command's arguments (``add_parser``) next to
its handler (``cmd_<command>``), which calls the Python API. ``options`` holds what their arguments share;
``weirdkinetics.cli`` builds the parser from them and runs ``main``."""
