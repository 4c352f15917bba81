"""Score -> audio: symbols, latent trajectories, the writing half of a preset, envelopes and
phase reconstruction (:mod:`.render` is the entry); morphs and walks of the latent space."""
