"""Benchmarks of the pipeline against a local replay of feeds and article pages."""
