"""The ``midivae`` command line (installed as ``midivae.cli``): parse, call the library, print."""
