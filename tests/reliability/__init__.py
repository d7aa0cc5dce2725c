"""Reliability and security proofs: fault injection, hostile input, fuzzing."""
