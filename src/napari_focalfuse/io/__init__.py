"""Reading and writing focal stacks and results (no Qt, no napari)."""
