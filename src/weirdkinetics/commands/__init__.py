"""One module per command of the Python API, each holding its command's whole path: ``validate``,
``evaluate`` (and ``export``), ``explain``, ``synth``, ``report`` (and the report's ``attributions``).
``setup`` and ``files`` hold what ``evaluate`` and ``explain`` share before any work (checks, the manifest
read once against the cards' label spaces, outputs refused or made, models loaded). ``weirdkinetics.api``
re-exports the public functions; import them from there.
"""
