"""Helpers shared by several floors: argument checks, atomic file writes, run plots.

checks   check_number: numeric arguments, with errors naming the argument and the range
atomic   write_bytes_atomic, write_text_atomic, write_json_atomic
plots    loss curves, forecasts, confusion matrices, samples (matplotlib, lazily)
"""
