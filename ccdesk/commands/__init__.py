"""CLI sub-commands, one module per area; ``ccdesk/cli.py`` mounts them. No Textual here."""
