"""The command line: the only package that prints, parses flags and turns outcomes into exit codes."""

from codexlogin.cli.app import app, main

__all__ = ["app", "main"]
