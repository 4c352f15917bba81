"""Training: note corpora, fitting a preset, its evaluation tables and the calibrations
measured on fresh renders (velocity regression, note verifier, note timing)."""
