"""Datasets for training and evaluation: simulator-generated caches, recordings, benchmarks."""
