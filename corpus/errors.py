"""Fatal misuse (missing input, bad recipe, unwritable output): reported by the CLI as one line, exit 2."""


class CorpusError(Exception):
    """Base for errors that stop a run before it writes anything."""


class InputError(CorpusError):
    """Missing or unreadable input."""


class RecipeError(CorpusError):
    """Invalid recipe: unknown step or option, wrong type, impossible combination."""


class OutputError(CorpusError):
    """Output that cannot be written, or that belongs to another run."""
