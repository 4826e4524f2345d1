"""The Qt side of the plugin: dock widgets and what they need from Qt (signals, a plot)."""
