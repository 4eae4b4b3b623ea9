"""Imported only when something asks lazy_proxy_module.PROXY for its class."""

VALUE = 1
