"""Bottom layer: helpers every other layer may import; imports nothing else from seg."""
