"""The work behind each ``napari-focalfuse`` subcommand (kept apart from argument parsing)."""
