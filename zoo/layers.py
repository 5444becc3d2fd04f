"""Keras layers that keras-zoo models use, registered so saved models reload.

Importing this module imports Keras; the loader imports it before ``load_model``.
"""
