"""Units (home / mobile Lifeline controllers) and their peripherals."""
