"""Engines that arrange the pipeline's pieces across machines; the local engine is ``predict.evaluate_manifest``.

``ray_engine``: the same evaluation (and synthesis) on a Ray cluster, or on a local Ray instance. Ray is an
optional extra (``pip install 'weirdkinetics[ray]'``); nothing here imports it until an engine runs.
"""

ENGINES = ("local", "ray")
"""The values of ``--engine``."""


def check_engine(engine: str, address: str | None, actors: int | None) -> None:
    """One line for each misuse of ``--engine``, ``--address`` and ``--actors``, before any work."""
    from weirdkinetics.errors import UserError, option

    if engine not in ENGINES:
        raise UserError(f"{option('engine', engine)}: not one of {', '.join(ENGINES)}")
    if engine == "local" and (address is not None or actors is not None):
        raise UserError(
            f"{option('address')} and {option('actors')} are for {option('engine', 'ray')}; add it or drop them"
        )
    if engine == "ray":
        from weirdkinetics.engines.ray_engine import check_address, require_ray

        ray = require_ray()  # a missing extra fails before any work, with the command that installs it
        check_address(address)
        if not ray.is_initialized():  # an address where nothing answers fails before any work, in seconds
            from weirdkinetics.engines.ray_cluster import check_reachable

            check_reachable(address)
