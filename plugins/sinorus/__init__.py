"""sinorus-watch: China–Russia cooperation events from the news."""

__version__ = "0.1.0"
