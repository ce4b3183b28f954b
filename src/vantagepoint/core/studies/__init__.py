"""Studies: one scenario template over parameter axes, run and rerun as a whole."""
