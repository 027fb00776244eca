"""Reply generation grounded in retrieved FAQ entries, and the training of the models behind it."""
