"""napari glue: reader, writer, sample data and the two dock widgets.

Everything here is thin: the work happens in :mod:`napari_focalfuse.core` and
:mod:`napari_focalfuse.io`. Modules named in ``napari.yaml`` import napari, Qt and torch only
inside functions, so napari can index the plugin without loading them.
"""
