"""One module per ``radarpose`` subcommand (see ``fusion.cli.COMMANDS``)."""
