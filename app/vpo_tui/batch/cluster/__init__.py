"""Run a batch's files on a Dask cluster, split along the process boundary.

Nothing is imported here, so that naming the package costs nothing: a threads
batch never imports Dask. The ``--executor`` value is parsed by
``vpo_tui.executors`` (no Dask). ``paths`` maps client paths to a worker's,
``worker`` is what runs on a worker, ``client`` is the connection and the
per-batch ``Backend``, ``security`` decides who may connect, ``certs`` makes a
cluster's TLS credentials and ``logs`` keeps Dask's logging off the terminal.
"""
