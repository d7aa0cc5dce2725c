"""An offline sample of feeds and article pages, served on loopback for tests and the demo."""

from sinorus.sample.server import SampleServer, expected, render, serve, write_feeds_file

__all__ = ["SampleServer", "expected", "render", "serve", "write_feeds_file"]
