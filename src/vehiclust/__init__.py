"""vehiclust: cluster vehicle images by their deep descriptors, find outliers, describe clusters."""

__version__ = "0.1.0"


def log_to_stderr(verbose: bool = False) -> None:
    """Follow a library run as the CLI shows it in a log file: one line per stage and per
    descriptor set with its time (``cluster osnet: 39 configurations, 74 s``), and every warning
    as one plain ``warning: ...`` line (harmless third-party ones dropped); ``verbose`` adds the
    library's info records with their logger names.

    >>> import vehiclust; vehiclust.log_to_stderr()  # then vehiclust.pipeline.run(config)
    """
    from vehiclust.runlog import setup_cli_logging

    setup_cli_logging(quiet=False, verbose=1 if verbose else 0, follow=True)
