"""Audio -> notes: analysis, the reading half of a preset, the note HMM, note timing,
velocities, tuning and the automatic choice of preset (:mod:`.transcribe` is the entry)."""
