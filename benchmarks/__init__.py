"""Side-by-side benchmarks of asyncbulk and its peers against the emulator."""
