"""Pure computational core: model, training, fusion, metrics, synthetic stacks.

Nothing in this package imports Qt or napari, so it runs headless and in batch jobs.
"""
